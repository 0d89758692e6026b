// Upload links: make a speaker slot, copy its link, follow it, cancel or lock it.
import { api, h, toast, fail, when, setMain } from './app.js';

function field(id, label, input) {
  return h('div', {}, h('label', { for: id }, label), input);
}

async function copy(text) {
  try { await navigator.clipboard.writeText(text); toast('Link copied'); }
  catch { toast('Select the link and copy it'); }
}

function slotRow(slot, refresh) {
  const act = (what) => async () => {
    try { await api('POST', `/v1/uploads/${encodeURIComponent(slot.id)}/${what}`); await refresh(); }
    catch (err) { fail(err); }
  };
  const open = slot.status === 'waiting';
  return h('li', { class: 'card', 'data-id': slot.id },
    h('h3', {}, slot.title),
    h('div', { class: 'facts' },
      h('span', { class: `badge st-${slot.status === 'asset_created' ? 'ready' : open ? 'waiting' : 'errored'}`,
        'data-role': 'status' }, slot.status.replace('_', ' ')),
      slot.locked ? h('span', { class: 'badge' }, 'locked') : null,
      h('span', {}, `Speaker: ${slot.speaker || '–'}`),
      h('span', {}, `Language: ${slot.language}`),
      h('span', {}, `Max: ${slot.max_duration_s ? `${slot.max_duration_s} s` : 'service limit'}`),
      h('span', {}, `Deadline: ${when(slot.expires_at)}`)),
    slot.asset_id ? h('p', {}, 'Uploaded: ',
      h('a', { href: `/studio/messages/${encodeURIComponent(slot.asset_id)}` }, 'open the message')) : null,
    slot.error ? h('p', { class: 'error' }, slot.error.message) : null,
    h('p', {}, h('code', { class: 'link', 'data-role': 'link' }, slot.url)),
    h('div', { class: 'actions' },
      h('button', { class: 'quiet', onclick: () => copy(slot.url) }, 'Copy link'),
      open && !slot.locked ? h('button', { class: 'quiet', onclick: act('lock') }, 'Lock') : null,
      open ? h('button', { class: 'danger', onclick: act('cancel') }, 'Cancel link') : null));
}

export async function uploads() {
  const list = h('ul', { class: 'rows', id: 'slots' });
  const refresh = async () => {
    const { items } = await api('GET', '/v1/uploads?limit=100');
    list.replaceChildren(...items.map(s => slotRow(s, refresh)));
  };
  const tomorrow = new Date(Date.now() + 7 * 86400e3);
  tomorrow.setMinutes(tomorrow.getMinutes() - tomorrow.getTimezoneOffset());
  const form = h('form', { class: 'card', id: 'new-slot' },
    h('h2', {}, 'New upload link'),
    h('div', { class: 'form-grid' },
      field('slot-title', 'Title', h('input', { id: 'slot-title', name: 'title', required: true, maxlength: '200' })),
      field('slot-speaker', 'Speaker', h('input', { id: 'slot-speaker', name: 'speaker', maxlength: '200' })),
      field('slot-language', 'Language (BCP-47)', h('input', { id: 'slot-language', name: 'language', value: 'en', required: true })),
      field('slot-max', 'Maximum duration (seconds)', h('input', { id: 'slot-max', name: 'max', type: 'number', min: '1', step: '1' })),
      field('slot-deadline', 'Deadline', h('input', { id: 'slot-deadline', name: 'deadline', type: 'datetime-local',
        required: true, value: tomorrow.toISOString().slice(0, 16) }))),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create link')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const expires = Math.round((new Date(f.get('deadline')).getTime() - Date.now()) / 1000);
    if (!(expires > 0)) { toast('The deadline must be in the future', true); return; }
    const body = { title: f.get('title'), speaker: f.get('speaker') || null, language: f.get('language'),
      expires_in_s: expires };
    if (f.get('max')) body.max_duration_s = Number(f.get('max'));
    try {
      const slot = await api('POST', '/v1/uploads', body);
      form.reset();
      toast(`Link created for ${slot.title}`);
      await refresh();
    } catch (err) { fail(err); }
  });
  setMain(h('h1', {}, 'Upload links'), form, h('h2', {}, 'Links'), list);
  await refresh();
}
