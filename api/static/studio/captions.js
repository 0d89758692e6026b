// Captions: the cue editor beside the player. Clicking (or focusing) a cue seeks to it; the
// cue check (/v1/captions/check) flags overlaps, reading speed and line length as you type.
import { api, h, toast, fail, setMain, player, playbackUrl, captionState } from './app.js';

const enc = encodeURIComponent;

function cueView(cue, index, editor) {
  const id = `cue-${index}`;
  const start = h('input', { id: `${id}-start`, type: 'number', step: '0.001', min: '0',
    value: cue.start.toFixed(3), class: 'cue-start' });
  const end = h('input', { id: `${id}-end`, type: 'number', step: '0.001', min: '0',
    value: cue.end.toFixed(3), class: 'cue-end' });
  const text = h('textarea', { id: `${id}-text`, rows: '2', class: 'cue-text' }, cue.text);
  const issues = h('ul', { class: 'issues', 'aria-live': 'polite' });
  const box = h('li', { class: 'cue', 'data-index': String(index) },
    h('div', { class: 'times' },
      h('div', {}, h('label', { for: `${id}-start` }, `Cue ${index + 1} start (s)`), start),
      h('div', {}, h('label', { for: `${id}-end` }, 'End (s)'), end),
      h('button', { type: 'button', class: 'quiet', 'aria-label': `Play cue ${index + 1}`,
        onclick: () => editor.seek(index, true) }, '▶')),
    h('label', { for: `${id}-text` }, 'Text'), text, issues);
  const changed = () => {
    cue.start = Number(start.value); cue.end = Number(end.value); cue.text = text.value;
    editor.changed();
  };
  for (const el of [start, end, text]) el.addEventListener('input', changed);
  box.addEventListener('click', (e) => { if (e.target === box || e.target.tagName === 'LABEL') editor.seek(index); });
  box.addEventListener('focusin', () => editor.seek(index));
  return { box, issues };
}

export async function captions(id) {
  const asset = await api('GET', `/v1/assets/${enc(id)}`);
  const lang = (asset.captions[0] && asset.captions[0].language) || asset.language;
  const listed = asset.captions.some(t => t.language === lang && t.status === 'ready');
  const track = listed ? await api('GET', `/v1/assets/${enc(id)}/captions/${enc(lang)}`) : null;
  const cues = track ? track.cues.map(c => ({ ...c })) : [];
  const video = h('video', { controls: true, playsinline: true, id: 'preview',
    'aria-label': `Preview of ${asset.title}` });
  const subtitles = h('select', { id: 'subtitles' }, h('option', { value: '-1' }, 'Off'));
  const quality = h('select', { id: 'quality' }, h('option', { value: '-1' }, 'Auto'));
  const list = h('ol', { class: 'cues', id: 'cues', 'aria-label': 'Cues' });
  const empty = h('p', { class: 'card' }, 'No caption track yet: upload a file.');
  const state = h('span', { id: 'review', class: 'badge' });
  const summary = h('p', { id: 'check-summary', role: 'status' });
  const save = h('button', { id: 'save', disabled: true }, 'Save cues');
  const approve = h('button', { id: 'approve', class: 'quiet' }, 'Approve');
  const file = h('input', { id: 'caption-file', type: 'file', accept: '.vtt,.srt,text/vtt,application/x-subrip' });
  let views = [], dirty = false, timer = null;

  const showState = (entry) => {
    const cap = captionState({ captions: entry ? [entry] : [] });
    state.textContent = cap.label; state.className = `badge ${cap.cls}`;
  };
  const editor = {
    seek(index, play = false) {
      const cue = cues[index];
      if (!cue) return;
      video.currentTime = cue.start + 0.01;
      if (play) video.play().catch(() => {});
    },
    changed() {
      dirty = true; save.disabled = false;
      clearTimeout(timer); timer = setTimeout(check, 250);
    },
  };
  const render = () => {
    views = cues.map((c, i) => cueView(c, i, editor));
    list.replaceChildren(...views.map(v => v.box));
    empty.hidden = cues.length > 0;
  };
  async function check() {
    if (!cues.length) { summary.textContent = 'No cues.'; return; }
    const { issues } = await api('POST', `/v1/captions/check?language=${enc(lang)}`, { cues });
    views.forEach(v => { v.issues.replaceChildren(); v.box.classList.remove('flagged'); });
    for (const issue of issues) {
      const v = views[issue.index];
      if (!v) continue;
      v.box.classList.add('flagged');
      v.issues.append(h('li', { 'data-kind': issue.kind }, issue.message));
    }
    summary.textContent = issues.length ? `${issues.length} issue${issues.length > 1 ? 's' : ''} to look at.`
      : 'Every cue reads well.';
  }
  async function saveCues() {
    const entry = await api('PATCH', `/v1/assets/${enc(id)}/captions/${enc(lang)}`, { cues });
    dirty = false; save.disabled = true; showState(entry);
    toast('Cues saved');
    return entry;
  }
  save.addEventListener('click', () => saveCues().catch(fail));
  approve.addEventListener('click', async () => {
    try {
      if (dirty) await saveCues();
      showState(await api('POST', `/v1/assets/${enc(id)}/captions/${enc(lang)}/approve`));
      toast('Captions approved');
    } catch (err) { fail(err); }
  });
  file.addEventListener('change', async () => {
    const f = file.files[0];
    if (!f) return;
    const type = f.name.toLowerCase().endsWith('.srt') ? 'application/x-subrip' : 'text/vtt';
    try {
      await api('PUT', `/v1/assets/${enc(id)}/captions/${enc(lang)}`, await f.text(), { contentType: type });
      const fresh = await api('GET', `/v1/assets/${enc(id)}/captions/${enc(lang)}`);
      cues.splice(0, cues.length, ...fresh.cues.map(c => ({ ...c })));
      dirty = false; save.disabled = true; showState(fresh); render(); await check();
      toast(`${f.name} uploaded`);
    } catch (err) { fail(err); } finally { file.value = ''; }
  });
  video.addEventListener('timeupdate', () => {
    const t = video.currentTime;
    views.forEach((v, i) => v.box.classList.toggle('active', cues[i].start <= t && t < cues[i].end));
  });

  const glossary = h('textarea', { id: 'glossary', rows: '4' });
  const glossaryForm = h('form', { class: 'card', id: 'glossary-form' },
    h('h2', {}, 'Event glossary'),
    h('label', { for: 'glossary' }, 'Names and terms speech recognition should know (one per line)'),
    glossary, h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'quiet' }, 'Save glossary')));
  glossaryForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    try {
      const { terms } = await api('PUT', '/v1/glossary',
        { terms: glossary.value.split('\n').map(t => t.trim()).filter(Boolean) });
      glossary.value = terms.join('\n');
      toast(`Glossary saved (${terms.length} terms)`);
    } catch (err) { fail(err); }
  });

  const base = `/v1/assets/${enc(id)}/captions/${enc(lang)}`;
  setMain(
    h('p', {}, h('a', { href: `/studio/messages/${enc(id)}` }, `← ${asset.title}`)),
    h('h1', {}, `Captions · ${asset.title}`),
    h('div', { class: 'split' },
      h('section', { 'aria-label': 'Player' }, video,
        h('div', { class: 'toolbar' },
          h('div', {}, h('label', { for: 'quality' }, 'Quality'), quality),
          h('div', {}, h('label', { for: 'subtitles' }, 'Subtitles'), subtitles)),
        h('div', { class: 'card' },
          h('p', {}, `Track ${lang}: `, state),
          summary,
          h('div', { class: 'actions' }, save, approve),
          h('div', { class: 'actions' },
            h('a', { class: 'button quiet', href: `${base}.vtt`, download: `${id}.${lang}.vtt` }, 'Download VTT'),
            h('a', { class: 'button quiet', href: `${base}.srt`, download: `${id}.${lang}.srt` }, 'Download SRT')),
          h('div', {}, h('label', { for: 'caption-file' }, 'Upload an SRT or WebVTT file (replaces the track)'), file))),
      h('section', { 'aria-label': 'Cue editor' },
        empty, list)),
    glossaryForm);
  showState(track);
  render();
  if (cues.length) await check();
  api('GET', '/v1/glossary').then(g => { glossary.value = g.terms.join('\n'); }).catch(fail);
  if (asset.status === 'ready') player(video, await playbackUrl(asset), { quality, subtitles });
}
