// Captions: the cue editor beside the player. Clicking (or focusing) a cue seeks to it; the
// cue check (/v1/captions/check) flags overlaps, reading speed and line length as you type.
import { api, h, toast, fail, setMain, player, playbackUrl, captionState, confirmed } from './app.js';

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

const REVIEW = { machine: 'machine', edited: 'edited', approved: 'approved', needs_review: 'needs review' };
const UPLOAD_TYPES = { srt: 'application/x-subrip', vtt: 'text/vtt', xlf: 'application/xliff+xml',
  xliff: 'application/xliff+xml', json: 'application/json' };

function fileType(name) {
  return UPLOAD_TYPES[name.toLowerCase().split('.').pop()] || 'application/octet-stream';
}

function trackStatus(t) {
  if (t.status === 'preparing') return t.percent === null || t.percent === undefined
    ? 'preparing' : `preparing ${Math.round(t.percent)}%`;
  return t.status === 'errored' ? `failed${t.error ? ': ' + t.error.message : ''}` : t.status;
}

export async function captions(id) {
  let asset = await api('GET', `/v1/assets/${enc(id)}`);
  const wanted = new URLSearchParams(location.search).get('lang');
  const lang = wanted || (asset.captions[0] && asset.captions[0].language) || asset.language;
  const listed = asset.captions.some(t => t.language === lang && t.status === 'ready');
  const track = listed ? await api('GET', `/v1/assets/${enc(id)}/captions/${enc(lang)}`) : null;
  const cues = track ? track.cues.map(c => ({ ...c })) : [];
  const page = (language) => `/studio/captions/${enc(id)}?lang=${enc(language)}`;
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
    needsReview.hidden = !(entry && entry.review === 'needs_review');
    translate.hidden = !(entry && entry.status === 'ready');
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
    refreshTracks().catch(fail);
    return entry;
  }
  save.addEventListener('click', () => saveCues().catch(fail));
  approve.addEventListener('click', async () => {
    try {
      if (dirty) await saveCues();
      showState(await api('POST', `/v1/assets/${enc(id)}/captions/${enc(lang)}/approve`));
      toast('Captions approved');
      await refreshTracks();
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
      await refreshTracks();
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

  // Every track of the asset: pick one to edit, delete one, follow speech recognition.
  const trackRows = h('tbody', {});
  const tracks = h('table', { class: 'facts-table', id: 'tracks' },
    h('caption', {}, 'Caption tracks'),
    h('thead', {}, h('tr', {}, ['Language', 'Source', 'Status', 'Review', 'Translation of', '']
      .map(c => h('th', { scope: 'col' }, c)))),
    trackRows);
  let wasPreparing = asset.captions.some(t => t.language === lang && t.status === 'preparing');
  const trackRow = (t) => {
    const current = t.language === lang;
    return h('tr', { 'data-lang': t.language, class: current ? 'current' : '' },
      h('td', {}, h('a', { href: page(t.language), 'aria-current': current ? 'page' : null },
        t.language)),
      h('td', {}, t.source),
      h('td', { 'data-role': 'status' }, trackStatus(t)),
      h('td', { 'data-role': 'review', class: `cap-${t.review}` }, REVIEW[t.review] || t.review),
      h('td', {}, t.translation_of || '–'),
      h('td', {}, confirmed('Delete', `Delete track ${t.language}`, 'delete-track', async () => {
        await api('DELETE', `/v1/assets/${enc(id)}/captions/${enc(t.language)}`);
        toast(`Track ${t.language} deleted`);
        if (current) location.assign(`/studio/captions/${enc(id)}`);
        else await refreshTracks();
      })));
  };
  let poll = null;
  async function refreshTracks() {
    asset = await api('GET', `/v1/assets/${enc(id)}`);
    trackRows.replaceChildren(...asset.captions.map(trackRow));
    if (!asset.captions.length) trackRows.append(h('tr', {}, h('td', { colspan: '6' }, 'No tracks yet.')));
    const mine = asset.captions.find(t => t.language === lang);
    if (mine && wasPreparing && mine.status === 'ready') {
      const fresh = await api('GET', `${base}`);
      cues.splice(0, cues.length, ...fresh.cues.map(c => ({ ...c })));
      dirty = false; save.disabled = true; render(); await check();
      toast(`Speech recognition done for ${lang}`);
    }
    if (mine) showState(mine);
    wasPreparing = Boolean(mine && mine.status === 'preparing');
    clearTimeout(poll);
    if (asset.captions.some(t => t.status === 'preparing') && tracks.isConnected) {
      poll = setTimeout(() => refreshTracks().catch(fail), 2000);
    }
  }
  const generate = confirmed('Run speech recognition again', `Replace track ${lang} with speech recognition`,
    'generate', async () => {
      const entry = await api('POST', `${base}/generate`);
      wasPreparing = true; showState(entry);
      toast(`Speech recognition started for ${lang}`);
      await refreshTracks();
    });

  // Translation by people: download a template of this track, upload the translated file.
  const trLang = h('input', { id: 'tr-lang', required: true, placeholder: 'fr, de, zh-Hans',
    autocomplete: 'off', pattern: '[A-Za-z]{2,3}(-[A-Za-z0-9]{2,8})*' });
  const trFormat = h('select', { id: 'tr-format' },
    h('option', { value: 'srt' }, 'SubRip (.srt)'), h('option', { value: 'xliff' }, 'XLIFF 1.2 (.xlf)'),
    h('option', { value: 'json' }, 'JSON'));
  const template = h('a', { class: 'button quiet', id: 'tr-template' }, 'Download template');
  const setTemplate = () => {
    template.href = `${base}/template?format=${enc(trFormat.value)}`;
    template.download = `${id}-${lang}.${trFormat.value === 'xliff' ? 'xlf' : trFormat.value}`;
  };
  trFormat.addEventListener('change', setTemplate);
  setTemplate();
  const trFile = h('input', { id: 'tr-file', type: 'file',
    accept: '.srt,.vtt,.xlf,.xliff,.json,application/x-subrip,text/vtt,application/xliff+xml,application/json' });
  trFile.addEventListener('change', async () => {
    const f = trFile.files[0];
    if (!f) return;
    try {
      const target = trLang.value.trim();
      if (!target || !trLang.checkValidity()) { trLang.focus(); throw new Error('Enter the language of the translation first.'); }
      const entry = await api('PUT', `/v1/assets/${enc(id)}/captions/${enc(target)}?translation_of=${enc(lang)}`,
        await f.text(), { contentType: fileType(f.name) });
      toast(`Translation ${entry.language} of ${lang} uploaded`);
      await refreshTracks();
    } catch (err) { fail(err); } finally { trFile.value = ''; }
  });
  const machine = h('button', { type: 'button', class: 'quiet', id: 'mt-translate' }, 'Machine-translate into this language');
  machine.addEventListener('click', async () => {
    const target = trLang.value.trim();
    if (!target || !trLang.checkValidity()) { trLang.focus(); fail(new Error('Enter the language of the translation first.')); return; }
    machine.disabled = true;
    try {
      const entry = await api('POST', `${base}/translate`, { to: target });
      toast(`Machine translation ${entry.language} of ${lang} made: review it`);
      await refreshTracks();
    } catch (err) {
      fail(err.code === 'translation_unavailable'
        ? new Error(`No machine translation here (${err.message}): use the template.`) : err);
    } finally { machine.disabled = false; }
  });
  const translate = h('section', { class: 'card', id: 'translate', 'aria-labelledby': 'translate-title' },
    h('h2', { id: 'translate-title' }, `Translate track ${lang}`),
    h('p', { class: 'hint' }, 'Download the template (numbered cues with their times), have it translated, ' +
      'then upload it: the translation keeps these times and becomes its own track to review.'),
    h('div', { class: 'toolbar' },
      h('div', {}, h('label', { for: 'tr-format' }, 'Template format'), trFormat), template),
    h('div', { class: 'form-grid' },
      h('div', {}, h('label', { for: 'tr-lang' }, 'Language of the translation (BCP-47)'), trLang),
      h('div', {}, h('label', { for: 'tr-file' }, 'Upload the translated file (SRT, WebVTT, XLIFF or JSON)'), trFile)),
    h('div', { class: 'actions' }, machine));
  translate.hidden = !listed;
  const mineEntry = asset.captions.find(t => t.language === lang);
  const needsReview = h('p', { class: 'warn', id: 'needs-review', role: 'status',
    hidden: !(mineEntry && mineEntry.review === 'needs_review') },
  `The times of track ${mineEntry && mineEntry.translation_of} changed since this translation: review it, then save or approve.`);

  setMain(
    h('p', {}, h('a', { href: `/studio/messages/${enc(id)}` }, `← ${asset.title}`)),
    h('h1', {}, `Captions · ${asset.title}`),
    tracks,
    h('div', { class: 'split' },
      h('section', { 'aria-label': 'Player' }, video,
        h('div', { class: 'toolbar' },
          h('div', {}, h('label', { for: 'quality' }, 'Quality'), quality),
          h('div', {}, h('label', { for: 'subtitles' }, 'Subtitles'), subtitles)),
        h('div', { class: 'card' },
          h('p', {}, `Track ${lang}${mineEntry && mineEntry.translation_of ? ` (translation of ${mineEntry.translation_of})` : ''}: `, state),
          needsReview,
          summary,
          h('div', { class: 'actions' }, save, approve),
          h('div', { class: 'actions' },
            h('a', { class: 'button quiet', href: `${base}.vtt`, download: `${id}.${lang}.vtt` }, 'Download VTT'),
            h('a', { class: 'button quiet', href: `${base}.srt`, download: `${id}.${lang}.srt` }, 'Download SRT')),
          h('div', { class: 'actions' }, generate),
          h('div', {}, h('label', { for: 'caption-file' }, `Upload an SRT or WebVTT file (replaces track ${lang})`), file)),
        translate),
      h('section', { 'aria-label': 'Cue editor' },
        empty, list)),
    glossaryForm);
  showState(mineEntry || track);
  render();
  await refreshTracks();
  if (cues.length) await check();
  api('GET', '/v1/glossary').then(g => { glossary.value = g.terms.join('\n'); }).catch(fail);
  if (asset.status === 'ready') player(video, await playbackUrl(asset), { quality, subtitles });
}
