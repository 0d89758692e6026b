// Messages: the live list (server-sent events from /studio/events) and one message's page.
import { api, h, toast, fail, duration, when, captionState, setMain, player, playbackUrl, csrf, ApiError } from './app.js';

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

function field(id, label, input) {
  return h('div', {}, h('label', { for: id }, label), input);
}

// POST /v1/assets as multipart through XMLHttpRequest, for its upload progress events.
function send(form, onProgress) {
  const xhr = new XMLHttpRequest();
  const done = new Promise((resolve, reject) => {
    xhr.upload.addEventListener('progress', e => { if (e.lengthComputable) onProgress(e.loaded, e.total); });
    xhr.addEventListener('load', () => {
      let body = null;
      try { body = JSON.parse(xhr.responseText); } catch { /* not JSON */ }
      if (xhr.status === 401) { location.assign('/studio'); }
      if (xhr.status >= 200 && xhr.status < 300) resolve(body);
      else reject(new ApiError(xhr.status, body && body.error ? body.error.code : `http_${xhr.status}`,
        body && body.error ? body.error.message : xhr.statusText || 'Upload failed'));
    });
    xhr.addEventListener('error', () => reject(new Error('The upload was interrupted (network error).')));
    xhr.addEventListener('abort', () => reject(new Error('Upload cancelled.')));
  });
  xhr.open('POST', '/v1/assets');
  xhr.setRequestHeader('X-CSRF-Token', csrf);
  xhr.send(new FormData(form));
  return { done, cancel: () => xhr.abort() };
}

function uploadForm() {
  const file = h('input', { id: 'up-file', name: 'file', type: 'file', required: true, accept: 'video/*,audio/*,.mkv,.mov,.mp4' });
  const title = h('input', { id: 'up-title', name: 'title', maxlength: '200', placeholder: 'the file name if empty' });
  const progress = h('progress', { id: 'upload-progress', max: '100', value: '0', hidden: true,
    'aria-label': 'Upload progress' });
  const status = h('p', { id: 'upload-status', role: 'status', 'aria-live': 'polite' });
  const submit = h('button', { type: 'submit', id: 'upload-submit' }, 'Upload');
  const cancel = h('button', { type: 'button', class: 'quiet', id: 'upload-cancel', hidden: true }, 'Cancel upload');
  const form = h('form', { id: 'direct-upload', class: 'card' },
    h('h2', {}, 'Upload a video'),
    h('div', { class: 'form-grid' },
      field('up-file', 'Video file', file),
      field('up-title', 'Title', title),
      field('up-speaker', 'Speaker', h('input', { id: 'up-speaker', name: 'speaker', maxlength: '200' })),
      field('up-language', 'Language (BCP-47, or auto to detect it)', h('input', { id: 'up-language',
        name: 'language', value: 'en', required: true, pattern: '[Aa][Uu][Tt][Oo]|[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*' })),
      field('up-captions', 'Captions', h('select', { id: 'up-captions', name: 'captions' },
        h('option', { value: 'auto' }, 'Automatic (speech recognition)'), h('option', { value: 'none' }, 'None'))),
      field('up-visibility', 'Visibility', h('select', { id: 'up-visibility', name: 'visibility' },
        h('option', { value: 'public' }, 'Public'), h('option', { value: 'private' }, 'Private (playback tokens)')))),
    h('div', { class: 'actions' }, submit, cancel), progress, status);
  let upload = null;
  cancel.addEventListener('click', () => upload && upload.cancel());
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    if (!file.files[0]) { file.focus(); return; }
    const name = file.files[0].name;
    progress.hidden = false; progress.value = 0; cancel.hidden = false; submit.disabled = true;
    status.textContent = `Uploading ${name}…`;
    upload = send(form, (loaded, total) => {
      progress.value = Math.round(100 * loaded / total);
      status.textContent = `Uploading ${name}: ${progress.value}% (${Math.round(loaded / 1e6)} of ${Math.round(total / 1e6)} MB)`;
    });
    try {
      const asset = await upload.done;
      progress.value = 100;
      status.textContent = `${name} uploaded: “${asset.title}” is ${asset.status}.`;
      status.dataset.asset = asset.id;
      form.reset();
      toast(`${asset.title} uploaded`);
    } catch (err) {
      status.textContent = `${name}: ${err.message}`;
      fail(err);
    } finally {
      upload = null; cancel.hidden = true; submit.disabled = false;
    }
  });
  return form;
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
    h('details', { id: 'upload-panel' }, h('summary', {}, 'Upload a video directly'), uploadForm()),
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
  events.addEventListener('expired', () => { events.close(); location.assign('/studio'); });
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
  // Links for viewers: the plain page (public messages) or one with a playback token.
  const watch = `${location.origin}/watch/${encodeURIComponent(id)}`;
  const link = h('code', { class: 'link', id: 'viewer-link' }, asset.visibility === 'public' ? watch : '');
  const expiry = h('p', { class: 'hint', id: 'viewer-expiry' },
    asset.visibility === 'public' ? 'Public: anyone with the link can watch.'
      : 'Private: viewers need a link with a playback token.');
  const makeToken = h('button', { type: 'button', class: 'quiet', id: 'viewer-token' }, 'Make a link with a playback token');
  makeToken.addEventListener('click', async () => {
    try {
      const { token, expires_at } = await api('POST', `/v1/assets/${encodeURIComponent(id)}/playback-tokens`);
      link.textContent = `${watch}?token=${encodeURIComponent(token)}`;
      expiry.textContent = `This link works until ${when(expires_at)}.`;
    } catch (err) { fail(err); }
  });
  const copyLink = h('button', { type: 'button', class: 'quiet' }, 'Copy link');
  copyLink.addEventListener('click', async () => {
    try { await navigator.clipboard.writeText(link.textContent); toast('Link copied'); }
    catch { toast('Select the link and copy it'); }
  });
  const viewers = h('section', { class: 'card', id: 'viewers', 'aria-labelledby': 'viewers-title' },
    h('h2', { id: 'viewers-title' }, 'Viewer link'), h('p', {}, link), expiry,
    h('div', { class: 'actions' }, makeToken, copyLink));
  viewers.hidden = asset.status !== 'ready';
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
    viewers, h('h2', {}, 'Technical facts'), facts, dialog);
  if (asset.status === 'ready') player(video, await playbackUrl(asset), { quality, subtitles });
}
