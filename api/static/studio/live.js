// Live: create a live stream, show its ingest URL and key, follow its state, preview it
// while it is active, cut a channel on air to it and back, end it.
import { api, h, toast, fail, when, setMain, player } from './app.js';

const enc = encodeURIComponent;
const BADGE = { idle: 'st-waiting', active: 'st-ready', disconnected: 'st-errored', ended: 'st-errored' };

async function copy(text, what) {
  try { await navigator.clipboard.writeText(text); toast(`${what} copied`); }
  catch { toast(`Select the ${what.toLowerCase()} and copy it`); }
}

// Channels on air, with the cut each one shows: cut one to this stream, or back to its queue.
function cutControls(stream, channels, refresh) {
  const onAir = channels.filter(c => c.state === 'on_air');
  const cutHere = onAir.filter(c => c.cut && c.cut.live_stream_id === stream.id && !c.cut.scheduled);
  const others = onAir.filter(c => !cutHere.includes(c));
  const pickId = `cut-channel-${stream.id}`;
  const pick = h('select', { id: pickId, 'data-role': 'cut-channel' },
    ...others.map(c => h('option', { value: c.id }, c.name)));
  const cut = h('button', { type: 'submit', 'data-role': 'cut', disabled: !others.length }, 'Cut to this stream');
  const form = h('form', { class: 'actions', 'aria-label': `Cut a channel to ${stream.title}` },
    h('label', { for: pickId }, 'Channel on air'), pick, cut);
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      await api('POST', `/v1/channels/${enc(pick.value)}/cut`, { live_stream_id: stream.id });
      toast('The channel cuts to the stream at its next boundary'); await refresh(true);
    } catch (err) { fail(err); }
  });
  const backs = cutHere.map(c => h('li', {},
    h('span', {}, `${c.name} shows this stream${c.cut.ends_at ? ' (back to its queue soon)' : ''}`),
    h('button', { class: 'quiet', 'data-role': 'cut-end', 'aria-label': `Back to the queue of ${c.name}`,
      disabled: !!c.cut.ends_at, onclick: async () => {
        try { await api('POST', `/v1/channels/${enc(c.id)}/cut/end`); toast('Back to the queue'); await refresh(true); }
        catch (err) { fail(err); }
      } }, 'Back to queue')));
  return h('div', { class: 'cuts', 'data-role': 'cuts' },
    others.length ? form : h('p', { class: 'hint' }, onAir.length ? '' : 'No channel is on air to cut to this stream.'),
    backs.length ? h('ul', { class: 'rows' }, ...backs) : null);
}

function streamCard(stream, refresh, channels) {
  const key = h('code', { class: 'link', 'data-role': 'key', hidden: true }, stream.stream_key);
  const toggle = h('button', { class: 'quiet', 'aria-expanded': 'false', 'aria-label': `Show the stream key of ${stream.title}` }, 'Show key');
  const full = h('code', { class: 'link', 'data-role': 'rtmp', hidden: true }, stream.ingest.rtmp);
  toggle.addEventListener('click', () => {
    key.hidden = !key.hidden; full.hidden = key.hidden;
    toggle.setAttribute('aria-expanded', String(!key.hidden));
    toggle.textContent = key.hidden ? 'Show key' : 'Hide key';
  });
  const server = stream.ingest.rtmp.slice(0, stream.ingest.rtmp.length - stream.stream_key.length - 1);
  const video = h('video', { controls: true, muted: true, playsinline: true, 'aria-label': `Preview of ${stream.title}` });
  const dialog = h('dialog', { 'aria-label': `End ${stream.title}?` },
    h('p', {}, `End “${stream.title}”? The key is revoked and a speaker on it is dropped.`),
    h('form', { method: 'dialog', class: 'actions' },
      h('button', { value: 'cancel', class: 'quiet', autofocus: true }, 'Keep it'),
      h('button', { value: 'end', class: 'danger', 'data-role': 'confirm-end' }, 'End stream')));
  dialog.addEventListener('close', async () => {
    if (dialog.returnValue !== 'end') return;
    try { await api('DELETE', `/v1/live-streams/${enc(stream.id)}`); toast('Stream ended'); await refresh(); }
    catch (err) { fail(err); }
  });
  const ended = stream.status === 'ended';
  const card = h('li', { class: 'card', 'data-id': stream.id },
    h('h3', {}, stream.title),
    h('div', { class: 'facts' },
      h('span', { class: `badge ${BADGE[stream.status] || ''}`, 'data-role': 'status' }, stream.status),
      h('span', {}, `Speaker: ${stream.speaker || '–'}`),
      h('span', {}, `Created: ${when(stream.created_at)}`),
      stream.ended_at ? h('span', {}, `Ended: ${when(stream.ended_at)}${stream.end_reason ? ` (${stream.end_reason})` : ''}`) : null),
    ended ? null : h('dl', { class: 'meta' },
      h('dt', {}, 'RTMP server'), h('dd', {}, h('code', { class: 'link', 'data-role': 'server' }, server)),
      h('dt', {}, 'Stream key'), h('dd', {}, key),
      h('dt', {}, 'Full URL'), h('dd', {}, full),
      stream.ingest.srt ? h('dt', {}, 'SRT') : null,
      stream.ingest.srt ? h('dd', {}, h('code', { class: 'link' }, stream.ingest.srt)) : null),
    stream.asset_id ? h('p', {}, 'Recording: ', h('a', { href: `/studio/messages/${enc(stream.asset_id)}` }, 'open the message')) : null,
    ended ? null : h('p', {}, 'Viewers: ', h('a', { href: stream.playback.watch, 'data-role': 'watch', target: '_blank', rel: 'noopener' }, 'the viewer page'), ' (live captions on)'),
    stream.status === 'active' ? video : null,
    stream.status === 'active' || stream.status === 'disconnected' ? cutControls(stream, channels, refresh) : null,
    ended ? null : h('div', { class: 'actions' },
      h('button', { class: 'quiet', onclick: () => copy(server, 'Server') }, 'Copy server'),
      toggle,
      h('button', { class: 'quiet', onclick: () => copy(stream.stream_key, 'Key') }, 'Copy key'),
      h('button', { class: 'danger', 'data-role': 'end', onclick: () => dialog.showModal() }, 'End…')),
    dialog);
  if (stream.status === 'active') preview(video, stream.playback.hls);
  return card;
}

// A stream is active from the speaker's connect, its playlist from its first segment a few
// seconds later (until then 404 live_stream_not_started): keep asking while the card is shown.
function preview(video, src) {
  const hls = player(video, src);
  if (!hls) return;
  // the live captions: on in the preview (the stream has one subtitle track when they are)
  hls.on(window.Hls.Events.SUBTITLE_TRACKS_UPDATED, () => {
    if (hls.subtitleTrack < 0 && hls.subtitleTracks.length) hls.subtitleTrack = 0;
  });
  hls.on(window.Hls.Events.ERROR, (_, data) => {
    if (!data.fatal) return;
    if (data.type !== window.Hls.ErrorTypes.NETWORK_ERROR || !video.isConnected) { hls.destroy(); return; }
    setTimeout(() => { if (video.isConnected) hls.loadSource(src); else hls.destroy(); }, 3000);
  });
}

export async function live() {
  const list = h('ul', { class: 'rows', id: 'streams' });
  let shown = '';
  const refresh = async (force = false) => {
    const { items } = await api('GET', '/v1/live-streams');
    const channels = (await api('GET', '/v1/channels')).items;
    const state = JSON.stringify([items.map(s => [s.id, s.status, s.asset_id]),
      channels.map(c => [c.id, c.state, c.cut && [c.cut.live_stream_id, c.cut.ends_at, c.cut.scheduled]])]);
    if (state === shown && !force) return;  // redraw on a change only: a preview keeps playing
    shown = state;
    list.replaceChildren(...items.map(s => streamCard(s, refresh, channels)));
  };
  const form = h('form', { class: 'card', id: 'new-stream' },
    h('h2', {}, 'New live stream'),
    h('div', { class: 'form-grid' },
      h('div', {}, h('label', { for: 'ls-title' }, 'Title'), h('input', { id: 'ls-title', name: 'title', required: true, maxlength: '200' })),
      h('div', {}, h('label', { for: 'ls-speaker' }, 'Speaker'), h('input', { id: 'ls-speaker', name: 'speaker', maxlength: '200' }))),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create stream')));
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const f = new FormData(form);
    try {
      await api('POST', '/v1/live-streams', { title: f.get('title'), speaker: f.get('speaker') || null });
      form.reset(); toast('Live stream created'); await refresh();
    } catch (err) { fail(err); }
  });
  setMain(h('h1', {}, 'Live'), form,
    h('p', { class: 'hint' }, 'Give the speaker the server and the key (OBS: Settings → Stream → Custom). ',
      'States follow the speaker: idle until they publish, active, disconnected while the reconnect window lasts, ended.'),
    h('h2', {}, 'Streams'), list);
  await refresh();
  // a stream's state changes when its speaker connects or drops: follow it
  setInterval(() => refresh().catch(() => {}), 3000);
}
