// Channels: the list, and one channel's run-of-show (drag or keyboard to reorder, fixed start
// times), start/stop/skip, now and next with a countdown, and the live preview.
import { api, h, toast, fail, duration, when, captionState, setMain, player, confirmed } from './app.js';

const enc = encodeURIComponent;

function field(id, label, input) { return h('div', {}, h('label', { for: id }, label), input); }

async function readyAssets() {
  const { items } = await api('GET', '/v1/assets?limit=200');
  return items.filter(a => a.status === 'ready');
}

export async function channels() {
  const list = h('ul', { class: 'rows', id: 'channels' });
  const slate = h('select', { id: 'ch-slate' }, h('option', { value: '' }, 'Generated card'));
  const refresh = async () => {
    const { items } = await api('GET', '/v1/channels');
    list.replaceChildren(...items.map(ch => h('li', { class: 'card', 'data-id': ch.id },
      h('h3', {}, h('a', { href: `/studio/channels/${enc(ch.id)}` }, ch.name)),
      h('div', { class: 'facts' },
        h('span', { class: `badge ${ch.state === 'on_air' ? 'st-ready' : 'st-waiting'}` },
          ch.state === 'on_air' ? 'on air' : 'idle'),
        h('span', {}, `${ch.items.length} items`), h('span', {}, ch.mode),
        ch.now ? h('span', {}, `Now: ${ch.now.title}`) : null))));
  };
  const form = h('form', { class: 'card', id: 'new-channel' },
    h('h2', {}, 'New channel'),
    h('div', { class: 'form-grid' },
      field('ch-name', 'Name', h('input', { id: 'ch-name', name: 'name', required: true, maxlength: '200' })),
      field('ch-mode', 'Mode', h('select', { id: 'ch-mode', name: 'mode' },
        h('option', { value: 'linear' }, 'Linear (then the slate)'), h('option', { value: 'loop' }, 'Loop'))),
      field('ch-window', 'Live window (seconds)', h('input', { id: 'ch-window', name: 'window', type: 'number',
        min: '30', max: '3600', value: '60' })),
      field('ch-slate', 'Slate (shown in gaps)', slate),
      field('ch-visibility', 'Visibility', h('select', { id: 'ch-visibility', name: 'visibility' },
        h('option', { value: 'public' }, 'Public'), h('option', { value: 'private' }, 'Private (playback tokens)'))),
      field('ch-languages', 'Caption languages (BCP-47, comma separated)', h('input', { id: 'ch-languages',
        name: 'languages', value: 'en', required: true }))),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create channel')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    const body = { name: f.get('name'), mode: f.get('mode'), window_s: Number(f.get('window')),
      visibility: f.get('visibility'),
      languages: String(f.get('languages')).split(',').map(l => l.trim()).filter(Boolean) };
    if (slate.value) body.slate_asset_id = slate.value;
    try {
      const ch = await api('POST', '/v1/channels', body);
      location.assign(`/studio/channels/${enc(ch.id)}`);
    } catch (err) { fail(err); }
  });
  setMain(h('h1', {}, 'Channels'), form, h('h2', {}, 'Channels'), list);
  await refresh();
  for (const a of await readyAssets()) slate.append(h('option', { value: a.id }, a.title));
}

function countdown(seconds) {
  const s = Math.max(0, Math.ceil(seconds));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export async function channel(id) {
  const assets = new Map((await api('GET', '/v1/assets?limit=200')).items.map(a => [a.id, a]));
  let ch = await api('GET', `/v1/channels/${enc(id)}`);
  let schedule = [];
  let hls = null;
  const title = h('h1', {});
  const state = h('span', { id: 'state', class: 'badge' });
  const start = h('button', { id: 'start' }, 'Start');
  const stop = h('button', { id: 'stop', class: 'quiet' }, 'Stop');
  const skip = h('button', { id: 'skip', class: 'quiet' }, 'Skip');
  const nowTitle = h('p', { class: 'big', id: 'now-title' }, '–');
  const nextTitle = h('p', { class: 'big', id: 'next-title' }, '–');
  const clock = h('p', { class: 'countdown', id: 'countdown', 'aria-live': 'off' }, '');
  const video = h('video', { controls: true, muted: true, playsinline: true, id: 'live-preview',
    'aria-label': 'Live preview' });
  const run = h('ol', { class: 'runlist', id: 'run', 'aria-label': 'Run of show',
    'aria-describedby': 'run-help' });
  const warnings = h('p', { class: 'warn', id: 'caption-warning', role: 'status' });
  const picker = h('select', { id: 'add-asset' });
  const startsAt = h('input', { id: 'add-starts', type: 'datetime-local' });
  const live = h('p', { class: 'visually-hidden', 'aria-live': 'polite', id: 'run-status' });

  const unapproved = (item) => {
    const a = assets.get(item.asset_id);
    return !a || captionState(a).label !== 'captions approved';
  };
  const move = async (item, position) => {
    if (position < 0 || position >= ch.items.length) return;
    try {
      ch = await api('POST', `/v1/channels/${enc(id)}/items/${enc(item.id)}/move`, { position });
      live.textContent = `${item.title} moved to position ${position + 1}`;
      await reload(false);
      run.querySelector(`li[data-item="${CSS.escape(item.id)}"]`)?.focus();
    } catch (err) { fail(err); }
  };
  const remove = async (item) => {
    try { await api('DELETE', `/v1/channels/${enc(id)}/items/${enc(item.id)}`); await reload(); }
    catch (err) { fail(err); }
  };
  let dragged = null;
  const renderRun = () => {
    run.replaceChildren(...ch.items.map((item, i) => {
      const li = h('li', { draggable: 'true', tabindex: '0', 'data-item': item.id,
          'aria-label': `${i + 1}. ${item.title}` ,
          class: ch.now && ch.now.id === item.id ? 'onair' : '' },
        h('span', { class: 'grip', 'aria-hidden': 'true' }, '⠿'),
        h('div', {},
          h('strong', { class: 'item-title' }, item.title),
          h('div', { class: 'facts' },
            h('span', {}, duration(item.duration_s)),
            item.starts_at ? h('span', {}, `Fixed start ${when(item.starts_at)}`) : null,
            unapproved(item) ? h('span', { class: 'warn', 'data-role': 'caption-warning' },
              '⚠ captions not approved') : null)),
        h('div', { class: 'actions' },
          h('button', { class: 'quiet', 'aria-label': `Move ${item.title} up`, disabled: i === 0,
            onclick: () => move(item, i - 1) }, '↑'),
          h('button', { class: 'quiet', 'aria-label': `Move ${item.title} down`,
            disabled: i === ch.items.length - 1, onclick: () => move(item, i + 1) }, '↓'),
          h('button', { class: 'quiet', 'aria-label': `Remove ${item.title}`, onclick: () => remove(item) }, '✕')));
      li.addEventListener('keydown', (e) => {
        if (e.target !== li || !e.altKey) return;
        if (e.key === 'ArrowUp') { e.preventDefault(); move(item, i - 1); }
        if (e.key === 'ArrowDown') { e.preventDefault(); move(item, i + 1); }
      });
      li.addEventListener('dragstart', (e) => { dragged = item; li.classList.add('dragging');
        e.dataTransfer.effectAllowed = 'move'; e.dataTransfer.setData('text/plain', item.id); });
      li.addEventListener('dragend', () => li.classList.remove('dragging'));
      li.addEventListener('dragover', (e) => { e.preventDefault(); e.dataTransfer.dropEffect = 'move'; });
      li.addEventListener('drop', (e) => {
        e.preventDefault();
        if (dragged && dragged.id !== item.id) move(dragged, i);
        dragged = null;
      });
      return li;
    }));
    const n = ch.items.filter(unapproved).length;
    warnings.textContent = n ? `⚠ ${n} item${n > 1 ? 's have' : ' has'} captions that are not approved.` : '';
  };
  const renderState = () => {
    title.textContent = ch.name;
    const onAir = ch.state === 'on_air';
    state.textContent = onAir ? 'on air' : 'idle';
    state.className = `badge ${onAir ? 'st-ready' : 'st-waiting'}`;
    start.disabled = onAir || !ch.items.length; stop.disabled = !onAir; skip.disabled = !onAir;
  };
  const preview = async () => {
    if (ch.state !== 'on_air') { if (hls) { hls.destroy(); hls = null; } video.removeAttribute('src'); return; }
    if (hls || video.src) return;
    const { token } = await api('POST', `/v1/channels/${enc(id)}/playback-tokens`);
    hls = player(video, `/live/${enc(id)}.m3u8?token=${enc(token)}`);
    video.play().catch(() => {});
  };
  async function reload(withChannel = true) {
    if (withChannel) ch = await api('GET', `/v1/channels/${enc(id)}`);
    schedule = ch.state === 'on_air' ? await api('GET', `/v1/channels/${enc(id)}/schedule`) : [];
    renderState(); renderRun(); renderCut(); tick(); await preview();
    if (withChannel) loadAsRun().catch(fail);
  }
  let reloading = false, shownStart = null, lastReload = 0;
  function tick() {
    const now = Date.now();
    const i = schedule.findIndex(s => Date.parse(s.starts_at) <= now && now < Date.parse(s.ends_at));
    const cur = schedule[i], nxt = i >= 0 ? schedule[i + 1] : schedule[0];
    const label = (s) => s ? (s.slate ? `Slate: ${s.title}` : s.title) : '–';
    const cutOn = ch.cut && !ch.cut.scheduled && Date.parse(ch.cut.starts_at) <= now
      && !(ch.cut.ends_at && Date.parse(ch.cut.ends_at) <= now);
    nowTitle.textContent = ch.state !== 'on_air' ? 'Off air' : (cutOn ? `Live: ${ch.cut.title}` : label(cur));
    // a linear queue's schedule stops at its last item: the slate follows until stopped
    const after = nxt ? label(nxt) : (cur && ch.mode === 'linear' ? 'End of queue: slate' : '–');
    nextTitle.textContent = ch.state === 'on_air' ? after : (ch.items[0] ? ch.items[0].title : '–');
    clock.textContent = cur ? `next in ${countdown((Date.parse(cur.ends_at) - now) / 1000)}` : '';
    for (const li of run.children) li.classList.toggle('onair', !!cur && li.dataset.item === cur.item_id);
    renderCut();
    // at each boundary, and now and then when the schedule has run out, fetch what follows
    const boundary = cur ? cur.starts_at : null;
    if (ch.state === 'on_air' && !reloading && (boundary !== shownStart
        || (!cur && now - lastReload > 3000))) {
      reloading = true; shownStart = boundary; lastReload = now;
      reload().catch(fail).finally(() => { reloading = false; });
    }
  }
  const act = (what) => async () => {
    try { ch = await api('POST', `/v1/channels/${enc(id)}/${what}`); await reload(false); toast(`${what}: done`); }
    catch (err) { fail(err); }
  };
  // Cutting to a live stream and back (POST .../cut, .../cut/end).
  const cutStream = h('select', { id: 'cut-stream' });
  const cutAt = h('input', { id: 'cut-at', type: 'datetime-local' });
  const cutStatus = h('p', { id: 'cut-status', role: 'status' });
  const cutButton = h('button', { type: 'submit', id: 'cut' }, 'Cut to live');
  const cutEnd = h('button', { type: 'button', class: 'quiet', id: 'cut-end' }, 'Back to queue');
  const renderCut = () => {
    const c = ch.cut && !(ch.cut.ends_at && Date.parse(ch.cut.ends_at) <= Date.now()) ? ch.cut : null;
    const text = !c ? 'Not cut to a live stream.'
      : c.scheduled ? `Cut to “${c.title || c.live_stream_id}” set for ${when(c.starts_at)}.`
      : c.ends_at ? `Live: “${c.title}”; back to the queue at ${when(c.ends_at)}.`
      : `Live: “${c.title}” since ${when(c.starts_at)}; the queue resumes when it ends.`;
    // a status region: rewritten only when it says something new (it is read out)
    if (cutStatus.textContent !== text) cutStatus.textContent = text;
    cutEnd.disabled = !c || (!!c.ends_at && !c.scheduled);
    cutButton.disabled = ch.state !== 'on_air' || !cutStream.value;
  };
  const loadStreams = async () => {
    const { items } = await api('GET', '/v1/live-streams');
    const open = items.filter(s => s.status === 'active' || s.status === 'disconnected');
    const chosen = cutStream.value;
    cutStream.replaceChildren(...open.map(s => h('option', { value: s.id }, `${s.title} (${s.status})`)));
    if (!open.length) cutStream.append(h('option', { value: '' }, 'No live stream is on'));
    if (open.some(s => s.id === chosen)) cutStream.value = chosen;
    renderCut();
  };
  const cutForm = h('form', { class: 'card', id: 'cut-form', 'aria-labelledby': 'cut-title' },
    h('h2', { id: 'cut-title' }, 'Live stream'),
    h('p', { class: 'hint' }, 'The channel cuts to the stream at the next segment boundary (or at a set time), and back to its queue where it left it when the stream ends or on “Back to queue”.'),
    cutStatus,
    h('div', { class: 'form-grid' },
      field('cut-stream', 'Live stream', cutStream),
      field('cut-at', 'At a set time (optional)', cutAt)),
    h('div', { class: 'actions' }, cutButton, cutEnd));
  cutForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { live_stream_id: cutStream.value };
    if (cutAt.value) body.starts_at = new Date(cutAt.value).toISOString();
    try {
      ch = await api('POST', `/v1/channels/${enc(id)}/cut`, body);
      cutAt.value = ''; renderCut(); await reload(false); toast('Cut to the live stream');
    } catch (err) { fail(err); }
  });
  cutEnd.addEventListener('click', async () => {
    try {
      ch = await api('POST', `/v1/channels/${enc(id)}/cut/end`);
      renderCut(); await reload(false); toast('Back to the queue');
    } catch (err) { fail(err); }
  });
  cutStream.addEventListener('change', renderCut);
  start.addEventListener('click', act('start'));
  stop.addEventListener('click', act('stop'));
  skip.addEventListener('click', act('skip'));
  const addForm = h('form', { class: 'card', id: 'add-item' },
    h('h2', {}, 'Add a ready message'),
    h('div', { class: 'form-grid' },
      field('add-asset', 'Message', picker),
      field('add-starts', 'Fixed start time (optional, linear channels)', startsAt)),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Add')));
  addForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const body = { asset_id: picker.value };
    if (startsAt.value) body.starts_at = new Date(startsAt.value).toISOString();
    try {
      ch = await api('POST', `/v1/channels/${enc(id)}/items`, body);
      startsAt.value = '';
      await reload(false);
    } catch (err) { fail(err); }
  });
  for (const a of assets.values()) {
    if (a.status === 'ready') picker.append(h('option', { value: a.id }, `${a.title} (${duration(a.duration_s)})`));
  }

  // The slate shown in gaps (from the next boundary), the as-run log, deleting the channel.
  const slate = h('select', { id: 'slate-asset' });
  const slateNow = h('p', { id: 'slate-now' });
  const showSlate = () => {
    const a = ch.slate_asset_id ? assets.get(ch.slate_asset_id) : null;
    slateNow.textContent = `Now: ${ch.slate_asset_id ? (a ? a.title : ch.slate_asset_id) : 'the generated card'}`;
    if (ch.slate_asset_id) slate.value = ch.slate_asset_id;
  };
  for (const a of assets.values()) {
    if (a.status === 'ready') slate.append(h('option', { value: a.id }, `${a.title} (${duration(a.duration_s)})`));
  }
  const slateForm = h('form', { class: 'card', id: 'slate-form' },
    h('h2', {}, 'Slate'),
    h('p', { class: 'hint' }, 'Shown in gaps and after a linear queue ends; a change applies from the next boundary.'),
    slateNow,
    field('slate-asset', 'Ready message to use as the slate', slate),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'quiet' }, 'Change slate')));
  slateForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      ch = await api('PUT', `/v1/channels/${enc(id)}/slate`, { asset_id: slate.value });
      showSlate(); await reload(false);
      toast('Slate changed');
    } catch (err) { fail(err); }
  });
  const asRunRows = h('tbody', {});
  const asRun = h('table', { class: 'facts-table', id: 'as-run' },
    h('caption', {}, 'As run (what actually played)'),
    h('thead', {}, h('tr', {}, ['Started', 'Ended', 'Message'].map(c => h('th', { scope: 'col' }, c)))),
    asRunRows);
  const clockTime = (iso) => iso ? new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : 'playing';
  async function loadAsRun() {
    const { entries } = await api('GET', `/v1/channels/${enc(id)}/as-run`);
    asRunRows.replaceChildren(...[...entries].reverse().map(e => h('tr', { 'data-item': e.item_id },
      h('td', {}, clockTime(e.started_at)), h('td', {}, clockTime(e.ended_at)),
      h('td', {}, e.title || (assets.get(e.asset_id) || {}).title || e.asset_id))));
    if (!entries.length) asRunRows.append(h('tr', {}, h('td', { colspan: '3' }, 'Nothing has played yet.')));
  }
  // The viewer page: plain for a public channel, with a playback token for a private one.
  const watch = `${location.origin}/watch/live/${enc(id)}`;
  const viewerLink = h('code', { class: 'link', id: 'viewer-link' }, ch.visibility === 'public' ? watch : '');
  const viewerHint = h('p', { class: 'hint', id: 'viewer-expiry' }, ch.visibility === 'public'
    ? `Public; captions: ${ch.languages.join(', ')}.` : `Private: viewers need a link with a playback token; captions: ${ch.languages.join(', ')}.`);
  const makeToken = h('button', { type: 'button', class: 'quiet', id: 'viewer-token' }, 'Make a link with a playback token');
  makeToken.addEventListener('click', async () => {
    try {
      const { token, expires_at } = await api('POST', `/v1/channels/${enc(id)}/playback-tokens`);
      viewerLink.textContent = `${watch}?token=${enc(token)}`;
      viewerHint.textContent = `This link works until ${when(expires_at)}.`;
    } catch (err) { fail(err); }
  });
  const viewers = h('section', { class: 'card', id: 'viewers', 'aria-labelledby': 'viewers-title' },
    h('h2', { id: 'viewers-title' }, 'Viewer link'), h('p', {}, viewerLink), viewerHint,
    h('div', { class: 'actions' }, makeToken));
  const refreshAsRun = h('button', { type: 'button', class: 'quiet', id: 'as-run-refresh' }, 'Refresh as-run log');
  refreshAsRun.addEventListener('click', () => loadAsRun().catch(fail));
  const deleteChannel = confirmed('Delete channel', 'Delete this channel for good', 'delete-channel', async () => {
    await api('DELETE', `/v1/channels/${enc(id)}`);
    location.assign('/studio/channels');
  });
  setMain(
    h('p', {}, h('a', { href: '/studio/channels' }, '← Channels')),
    title,
    h('div', { class: 'actions' }, state, start, stop, skip,
      h('a', { class: 'button quiet', href: `/watch/live/${enc(id)}`, target: '_blank', rel: 'noopener' },
        'Viewer page')),
    h('div', { class: 'split' },
      h('section', { 'aria-label': 'On air' },
        h('div', { class: 'nownext card' },
          h('div', {}, h('h2', {}, 'Now'), nowTitle, clock),
          h('div', {}, h('h2', {}, 'Next'), nextTitle)),
        video),
      h('section', { 'aria-label': 'Run of show' },
        h('h2', {}, 'Run of show'),
        h('p', { class: 'hint', id: 'run-help' },
          'Drag items, or focus one and press Alt+↑ / Alt+↓ (or use the arrow buttons) to reorder.'),
        warnings, run, live, addForm, cutForm, slateForm)),
    viewers,
    h('section', { class: 'card', 'aria-label': 'As-run log' }, asRun, h('div', { class: 'actions' }, refreshAsRun)),
    h('div', { class: 'actions' }, deleteChannel));
  showSlate();
  await loadStreams().catch(fail);
  await reload(false);
  await loadAsRun();
  setInterval(tick, 250);
  setInterval(() => loadStreams().catch(() => {}), 5000);
}
