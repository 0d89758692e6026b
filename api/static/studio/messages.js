// Messages: the live list (server-sent events from /studio/events) and one message's page.
import { api, h, toast, fail, duration, when, captionState, setMain, player, playbackUrl } from './app.js';

const STAGES = ['queued', 'probe', 'transcode', 'captions', 'publish', 'done'];

function stages(asset) {
  if (asset.status === 'ready' || asset.status === 'errored') return null;
  const current = STAGES.indexOf(asset.progress.stage);
  return h('ol', { class: 'stages', 'aria-label': 'Stages' }, STAGES.slice(0, -1).map((s, i) =>
    h('li', { class: i < current ? 'done' : i === current ? 'current' : '' },
      i === current ? `${s} ${Math.round(asset.progress.percent)}%` : s)));
}

function row(asset) {
  const cap = captionState(asset);
  const progress = asset.status === 'preparing' || asset.status === 'waiting'
    ? h('progress', { max: '100', value: String(asset.progress.percent),
        'aria-label': `${asset.progress.stage} progress` }) : null;
  return h('li', { class: 'row', 'data-id': asset.id, 'data-status': asset.status },
    asset.poster ? h('img', { src: asset.poster, alt: '', loading: 'lazy' })
      : h('div', { class: 'noposter', 'aria-hidden': 'true' }, asset.status === 'errored' ? '✕' : '…'),
    h('div', {},
      h('h3', {}, h('a', { href: `/studio/messages/${encodeURIComponent(asset.id)}` }, asset.title || asset.id)),
      h('div', { class: 'facts' },
        h('span', { class: `badge st-${asset.status}`, 'data-role': 'status' }, asset.status),
        h('span', {}, `Speaker: ${asset.speaker || '–'}`),
        h('span', {}, `Duration: ${duration(asset.duration_s)}`),
        h('span', {}, `Slot: ${asset.upload_id || 'direct upload'}`),
        h('span', { class: cap.cls, 'data-role': 'captions' }, cap.label),
        h('span', {}, when(asset.created_at))),
      asset.error ? h('p', { class: 'error' }, asset.error.message) : null,
      stages(asset), progress),
    h('div', { class: 'rowactions' },
      asset.status === 'ready' ? h('a', { class: 'button quiet',
        href: `/studio/captions/${encodeURIComponent(asset.id)}` }, 'Captions') : null));
}

export function list() {
  const assets = new Map();
  const search = h('input', { id: 'search', type: 'search', placeholder: 'Title or speaker' });
  const status = h('select', { id: 'status' }, ['all', 'waiting', 'preparing', 'ready', 'errored']
    .map(s => h('option', { value: s }, s === 'all' ? 'All statuses' : s)));
  const rows = h('ul', { class: 'rows', id: 'assets', 'aria-live': 'polite', 'aria-busy': 'true' });
  const count = h('p', { class: 'muted', id: 'count' });
  const render = () => {
    const q = search.value.trim().toLowerCase(), st = status.value;
    const shown = [...assets.values()]
      .filter(a => st === 'all' || a.status === st)
      .filter(a => !q || `${a.title} ${a.speaker || ''}`.toLowerCase().includes(q))
      .sort((a, b) => b.created_at.localeCompare(a.created_at));
    rows.replaceChildren(...shown.map(row));
    count.textContent = `${shown.length} of ${assets.size} messages`;
  };
  search.addEventListener('input', render);
  status.addEventListener('change', render);
  setMain(h('h1', {}, 'Messages'),
    h('div', { class: 'toolbar', role: 'search' },
      h('div', {}, h('label', { for: 'search' }, 'Search'), search),
      h('div', {}, h('label', { for: 'status' }, 'Status'), status)),
    count, rows);
  const events = new EventSource('/studio/events');
  events.addEventListener('snapshot', e => {
    assets.clear();
    for (const a of JSON.parse(e.data)) assets.set(a.id, a);
    rows.setAttribute('aria-busy', 'false');
    render();
  });
  events.addEventListener('asset', e => { const a = JSON.parse(e.data); assets.set(a.id, a); render(); });
  events.addEventListener('removed', e => { assets.delete(JSON.parse(e.data).id); render(); });
  window.addEventListener('pagehide', () => events.close());
}

export async function detail(id) {
  const asset = await api('GET', `/v1/assets/${encodeURIComponent(id)}`);
  const cap = captionState(asset);
  const video = h('video', { controls: true, playsinline: true, id: 'preview',
    'aria-label': `Preview of ${asset.title}` });
  const quality = h('select', { id: 'quality' }, h('option', { value: '-1' }, 'Auto'));
  const subtitles = h('select', { id: 'subtitles' }, h('option', { value: '-1' }, 'Off'));
  const dialog = h('dialog', { id: 'confirm-delete', 'aria-labelledby': 'confirm-title' },
    h('h2', { id: 'confirm-title' }, `Delete “${asset.title}”?`),
    h('p', {}, 'Its video, captions and every stored file are removed. This cannot be undone.'),
    h('form', { method: 'dialog', class: 'actions' },
      h('button', { value: 'cancel', class: 'quiet', autofocus: true }, 'Keep it'),
      h('button', { value: 'delete', class: 'danger', id: 'confirm-delete-button' }, 'Delete')));
  dialog.addEventListener('close', async () => {
    if (dialog.returnValue !== 'delete') return;
    try {
      await api('DELETE', `/v1/assets/${encodeURIComponent(id)}`);
      toast('Deleted');
      location.assign('/studio/messages');
    } catch (err) { fail(err); }
  });
  const facts = h('table', { class: 'facts-table' },
    h('caption', { class: 'muted' }, 'Renditions'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'Name'), h('th', { scope: 'col' }, 'Size'),
      h('th', { scope: 'col' }, 'Bit rate'), h('th', { scope: 'col' }, 'Codecs'))),
    h('tbody', {}, asset.renditions.map(r => h('tr', {}, h('td', {}, r.name),
      h('td', {}, `${r.width}×${r.height}`), h('td', {}, `${Math.round(r.bandwidth / 1000)} kb/s`),
      h('td', {}, h('code', {}, r.codecs))))));
  setMain(
    h('p', {}, h('a', { href: '/studio/messages' }, '← Messages')),
    h('h1', {}, asset.title || asset.id),
    h('div', { class: 'split' },
      h('section', { 'aria-label': 'Preview' },
        asset.status === 'ready' ? video : h('p', { class: 'card' }, `This message is ${asset.status}.`),
        h('div', { class: 'toolbar' },
          h('div', {}, h('label', { for: 'quality' }, 'Quality'), quality),
          h('div', {}, h('label', { for: 'subtitles' }, 'Subtitles'), subtitles))),
      h('section', { class: 'card', 'aria-label': 'Facts' },
        h('dl', { class: 'meta' },
          h('dt', {}, 'Status'), h('dd', {}, h('span', { class: `badge st-${asset.status}` }, asset.status)),
          h('dt', {}, 'Speaker'), h('dd', {}, asset.speaker || '–'),
          h('dt', {}, 'Duration'), h('dd', {}, duration(asset.duration_s)),
          h('dt', {}, 'Language'), h('dd', {}, asset.language),
          h('dt', {}, 'Visibility'), h('dd', {}, asset.visibility),
          h('dt', {}, 'Slot'), h('dd', {}, asset.upload_id || 'direct upload'),
          h('dt', {}, 'Captions'), h('dd', { class: cap.cls }, cap.label),
          h('dt', {}, 'Created'), h('dd', {}, when(asset.created_at))),
        asset.error ? h('p', { class: 'error' }, asset.error.message) : null,
        h('div', { class: 'actions' },
          asset.status === 'ready' ? h('a', { class: 'button quiet', id: 'edit-captions',
            href: `/studio/captions/${encodeURIComponent(id)}` }, 'Edit captions') : null,
          h('button', { class: 'danger', id: 'delete', onclick: () => dialog.showModal() }, 'Delete…')))),
    h('h2', {}, 'Technical facts'), facts, dialog);
  if (asset.status === 'ready') player(video, await playbackUrl(asset), { quality, subtitles });
}
