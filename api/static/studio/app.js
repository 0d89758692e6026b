// The studio's core: the JSON API with the session cookie and CSRF token, a DOM helper that
// never parses HTML (every value becomes text), and the dispatch to the view of this page.
export const csrf = document.querySelector('meta[name="csrf-token"]').content;

export class ApiError extends Error {
  constructor(status, code, message) { super(message); this.status = status; this.code = code; }
}

export async function api(method, path, body, { raw = false, contentType } = {}) {
  const headers = { 'X-CSRF-Token': csrf };
  let payload;
  if (body !== undefined) {
    if (contentType) { headers['Content-Type'] = contentType; payload = body; }
    else { headers['Content-Type'] = 'application/json'; payload = JSON.stringify(body); }
  }
  const res = await fetch(path, { method, headers, body: payload, credentials: 'same-origin' });
  if (res.status === 401) { location.assign('/studio'); throw new ApiError(401, 'session', 'Log in again.'); }
  if (!res.ok) {
    let code = 'http_' + res.status, message = res.statusText;
    try { const e = (await res.json()).error; code = e.code; message = e.message; } catch { /* not JSON */ }
    throw new ApiError(res.status, code, message);
  }
  if (raw) return res;
  return res.status === 204 ? null : res.json();
}

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k in el && typeof v !== 'string') el[k] = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

export function toast(message, bad = false) {
  const t = document.getElementById('toast');
  t.textContent = message;
  t.className = 'show' + (bad ? ' bad' : '');
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.className = ''; }, 4000);
}

export function fail(err) { toast(err.message || String(err), true); }

// A destructive action in two steps: the button shows a confirmation button beside it.
export function confirmed(label, confirmLabel, role, action) {
  const ask = h('button', { type: 'button', class: 'quiet', 'data-role': role }, label);
  const yes = h('button', { type: 'button', class: 'danger', hidden: true,
    'data-role': `confirm-${role}` }, confirmLabel);
  const no = h('button', { type: 'button', class: 'quiet', hidden: true }, 'Keep');
  const toggle = (open) => { yes.hidden = no.hidden = !open; ask.hidden = open; (open ? yes : ask).focus(); };
  ask.addEventListener('click', () => toggle(true));
  no.addEventListener('click', () => toggle(false));
  yes.addEventListener('click', async () => {
    yes.disabled = true;
    try { await action(); toggle(false); } catch (err) { fail(err); } finally { yes.disabled = false; }
  });
  return h('span', { class: 'confirm' }, ask, yes, no);
}

export function duration(s) {
  if (s === null || s === undefined) return '–';
  const t = Math.round(s), m = Math.floor(t / 60), sec = t % 60;
  return `${m}:${String(sec).padStart(2, '0')}`;
}

export function when(iso) {
  return iso ? new Date(iso).toLocaleString([], { dateStyle: 'medium', timeStyle: 'short' }) : '–';
}

export function captionState(asset) {
  const t = (asset.captions || [])[0];
  if (!t) return { label: 'no captions', cls: 'cap-none' };
  if (t.status === 'preparing') return { label: 'captions preparing', cls: 'cap-machine' };
  if (t.status === 'errored') return { label: 'captions failed', cls: 'st-errored' };
  return { label: `captions ${t.review.replace('_', ' ')}`, cls: `cap-${t.review}` };
}

export function setMain(...children) {
  const main = document.getElementById('main');
  main.replaceChildren(...children);
  return main;
}

// A player for an HLS URL (hls.js, or native HLS where there is no MSE), with quality and
// subtitle menus filled from the playlist.
export function player(video, src, menus) {
  if (window.Hls && window.Hls.isSupported()) {
    const hls = new window.Hls({ enableWebVTT: true, renderTextTracksNatively: true });
    hls.loadSource(src);
    hls.attachMedia(video);
    if (menus) {
      hls.on(window.Hls.Events.MANIFEST_PARSED, () => {
        menus.quality.replaceChildren(h('option', { value: '-1' }, 'Auto'),
          ...hls.levels.map((l, i) => h('option', { value: String(i) },
            `${l.height}p · ${Math.round(l.bitrate / 1000)} kb/s`)));
        menus.quality.onchange = () => { hls.currentLevel = Number(menus.quality.value); };
      });
      hls.on(window.Hls.Events.SUBTITLE_TRACKS_UPDATED, () => {
        menus.subtitles.replaceChildren(h('option', { value: '-1' }, 'Off'),
          ...hls.subtitleTracks.map((t, i) => h('option', { value: String(i) }, t.name || t.lang)));
        menus.subtitles.onchange = () => {
          hls.subtitleTrack = Number(menus.subtitles.value);
          hls.subtitleDisplay = hls.subtitleTrack >= 0;
        };
      });
    }
    return hls;
  }
  video.src = src;
  return null;
}

export async function playbackUrl(asset) {
  // a token works for private and public assets alike
  const { token } = await api('POST', `/v1/assets/${encodeURIComponent(asset.id)}/playback-tokens`);
  return `/play/${encodeURIComponent(asset.id)}.m3u8?token=${encodeURIComponent(token)}`;
}

document.getElementById('logout').addEventListener('click', async () => {
  try { await api('POST', '/studio/logout'); } finally { location.assign('/studio'); }
});

const views = {
  messages: () => import('./messages.js').then(m => m.list()),
  message: (id) => import('./messages.js').then(m => m.detail(id)),
  uploads: () => import('./uploads.js').then(m => m.uploads()),
  captions: (id) => import('./captions.js').then(m => m.captions(id)),
  channels: () => import('./channels.js').then(m => m.channels()),
  channel: (id) => import('./channels.js').then(m => m.channel(id)),
  live: () => import('./live.js').then(m => m.live()),
};
const { view, id } = document.body.dataset;
views[view](id).catch(fail);
