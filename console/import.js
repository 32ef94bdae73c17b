// import.js - the CSV / NDJSON import page (POST /v1/imports, write keys):
// pick a file, see its first rows, map each column to a field, add the
// import's options (stage map, price list, vocabularies, defaults, scale,
// as_of), submit; the report shows the counts, the fixes made and every
// rejected row with its reason, marked in the preview too.
import { session, post, h, int, kpi, table, loading, errorBox } from './util.js';

const PREVIEW_ROWS = 10;

// RFC 4180 records from the start of a text: quoted fields with "" and line
// breaks, CRLF or LF, a byte-order mark skipped. At most max records.
export function csvRecords(text, max) {
  const out = [];
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  let rec = [], field = '', quoted = false;
  while (i < text.length && out.length < max) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i += 2; continue; }
      if (c === '"') { quoted = false; i++; continue; }
      field += c; i++; continue;
    }
    if (c === '"' && field === '') { quoted = true; i++; continue; }
    if (c === ',') { rec.push(field); field = ''; i++; continue; }
    if (c === '\r' || c === '\n') {
      rec.push(field); field = '';
      if (!(rec.length === 1 && rec[0] === '')) out.push(rec);
      rec = [];
      i += c === '\r' && text[i + 1] === '\n' ? 2 : 1;
      continue;
    }
    field += c; i++;
  }
  if (out.length < max && (field !== '' || rec.length)) { rec.push(field); out.push(rec); }
  return out;
}

// The preview: the header and the first rows (CSV), or the keys and values
// of the first lines (NDJSON: a line that is not an object is shown as such).
function previewOf(text, format) {
  if (format === 'csv') {
    const recs = csvRecords(text, PREVIEW_ROWS + 1);
    return { columns: recs[0] || [], rows: recs.slice(1) };
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '').slice(0, PREVIEW_ROWS);
  const objs = lines.map((l) => { try { const o = JSON.parse(l); return o && typeof o === 'object' && !Array.isArray(o) ? o : { '(not an object)': l }; } catch (e) { return { '(not JSON)': l }; } });
  const columns = [...new Set(objs.flatMap((o) => Object.keys(o)))];
  return { columns, rows: objs.map((o) => columns.map((c) => (o[c] === undefined ? '' : typeof o[c] === 'object' ? JSON.stringify(o[c]) : String(o[c])))) };
}

function previewTable(pv) {
  return h('table', { 'data-table': 'import-preview' }, h('caption', {}, `The first ${pv.rows.length} rows of the file`),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col', class: 'num' }, 'Row'), pv.columns.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', {}, pv.rows.map((r, i) => h('tr', { 'data-row': String(i + 1) }, h('td', { class: 'num' }, String(i + 1)), r.map((v) => h('td', {}, v))))));
}

// Column -> target inputs: the column's own name by default (the API's rule
// for an unmapped column); "a, b" feeds two targets.
function mappingEditor(columns) {
  return h('div', { class: 'mapping', 'data-control': 'import-mapping' },
    h('p', { class: 'note' }, 'Each column goes to the field named here (id, a field of the object, custom.KEY, product or stage_date.STAGE for deals; several separated by commas). Left as it is, a column goes to the field of its own name.'),
    h('div', { class: 'toolbar' }, columns.map((c) => h('label', {}, `${c} → `, h('input', { 'data-column': c, value: c, size: String(Math.max(8, c.length + 2)), spellcheck: 'false' })))));
}

function mappingOf(box) {
  const m = {};
  for (const inp of box.querySelectorAll('input[data-column]')) {
    const col = inp.dataset.column;
    const targets = inp.value.split(',').map((x) => x.trim()).filter((x) => x !== '');
    if (targets.length === 1 && targets[0] === col) continue;
    m[col] = targets.length === 1 ? targets[0] : targets;
  }
  return m;
}

function report(box, req, rep, previewBox) {
  const rejected = new Map(rep.rejections.map((r) => [r.row, r]));
  for (const tr of previewBox.querySelectorAll('tr[data-row]')) {
    const r = rejected.get(Number(tr.dataset.row));
    if (!r) continue;
    tr.classList.add('rejected');
    tr.setAttribute('title', r.reason);
    tr.lastChild.after(h('td', { class: 'error' }, r.reason));
  }
  box.replaceChildren(...[h('h2', {}, `Imported ${rep.object}`),
    h('div', { class: 'kpis' }, ['rows', 'created', 'updated', 'unchanged', 'stale', 'rejected', 'fixed'].map((k) => kpi(k[0].toUpperCase() + k.slice(1), `import.${k}`, rep[k], int))),
    rep.fix_summary.length ? table('Fixes made, by kind', [
      { label: 'Field', key: 'field' }, { label: 'From', key: 'from' }, { label: 'To', key: 'to' }, { label: 'Why', key: 'reason' },
      { label: 'Rows', key: 'count', num: true, fmt: int, figure: (r) => `import.fix.${r.field}.${r.from}` },
    ], rep.fix_summary, { name: 'import-fix-summary' }) : h('p', { class: 'note' }, 'No value needed a fix.'),
    rep.fixes.length ? h('details', {}, h('summary', {}, `The first ${rep.fixes.length} fixes, row by row`), table('Fixes', [
      { label: 'Row', key: 'row', num: true }, { label: 'Field', key: 'field' }, { label: 'From', key: 'from' }, { label: 'To', key: 'to' }, { label: 'Why', key: 'reason' },
    ], rep.fixes, { name: 'import-fixes' })) : null,
    rep.rejections.length ? table(`Rejected rows (${rep.rejections.length}): the other rows were written`, [
      { label: 'Row', key: 'row', num: true, figure: (r) => `import.rejection.${r.row}` },
      { label: 'Id', key: 'id' }, { label: 'Reason', key: 'reason', fmt: (v) => h('span', { class: 'error' }, v) },
    ], rep.rejections, { name: 'import-rejections' }) : h('p', { class: 'note' }, 'No row was rejected.'),
    h('details', {}, h('summary', {}, 'The request (POST /v1/imports)'),
      h('pre', { 'data-import-request': 'true', tabindex: '0' }, JSON.stringify({ ...req, data: `(${req.data.length} characters)` }, null, 2)))].filter(Boolean));
}

export async function importPage(root) {
  root.append(h('h1', {}, 'Import CRM data'));
  if (!session.can('write')) {
    root.append(h('p', { class: 'note', 'data-readonly': 'import' }, 'An import writes deals, accounts or reps: it needs a key with write access (this key reads).'));
    return;
  }
  let text = null;
  const previewBox = h('div', { id: 'import-preview' });
  const mapBox = h('div', {});
  const out = h('section', { class: 'card', id: 'import-result', 'aria-label': 'Import result' });
  const fmt = h('select', { name: 'format' }, h('option', { value: 'csv' }, 'CSV'), h('option', { value: 'ndjson' }, 'NDJSON'));
  // the preview (and, for a new file or format, a fresh mapping editor)
  const show = (withMapping = true) => {
    if (text === null) return;
    const pv = previewOf(text, fmt.value);
    previewBox.replaceChildren(previewTable(pv));
    if (withMapping) mapBox.replaceChildren(mappingEditor(pv.columns));
  };
  fmt.addEventListener('change', () => show());
  const file = h('input', { type: 'file', name: 'file', accept: '.csv,.ndjson,.jsonl,text/csv,application/x-ndjson', onchange: async (e) => {
    const f = e.target.files[0];
    if (!f) return;
    text = await f.text();
    fmt.value = /\.(ndjson|jsonl)$/i.test(f.name) ? 'ndjson' : 'csv';
    out.replaceChildren();
    show();
  } });
  const options = h('textarea', { name: 'options', rows: '4', cols: '80', spellcheck: 'false', 'aria-label': 'Options as JSON' }, '{}');
  const form = h('form', { class: 'card write-control', 'data-control': 'import', onsubmit: async (e) => {
    e.preventDefault();
    if (text === null) { out.replaceChildren(h('div', { class: 'error', role: 'alert' }, h('p', { 'data-problem': 'detail' }, 'Pick a file first.'))); return; }
    let opts;
    try { opts = JSON.parse(options.value || '{}'); } catch (x) { out.replaceChildren(h('div', { class: 'error', role: 'alert' }, h('p', { 'data-problem': 'detail' }, `The options are not JSON: ${x.message}`))); return; }
    const req = { ...opts, object: form.object.value, format: fmt.value, data: text };
    const mapping = { ...(opts.mapping || {}), ...mappingOf(mapBox) };
    if (Object.keys(mapping).length) req.mapping = mapping;
    out.replaceChildren(loading('Importing…'));
    show(false); // the preview without an earlier import's marks; the mapping as edited
    try {
      const rep = await post('/v1/imports', req);
      report(out, req, rep, previewBox);
    } catch (x) { out.replaceChildren(errorBox(x)); }
  } },
  h('div', { class: 'toolbar' },
    h('label', {}, 'Object ', h('select', { name: 'object' }, ['deals', 'accounts', 'reps'].map((o) => h('option', { value: o }, o)))),
    h('label', {}, 'File ', file), h('label', {}, 'Format ', fmt)),
  previewBox, mapBox,
  h('label', {}, 'Options (JSON: stage_map, price_list, vocabulary, defaults, scale, as_of; docs/data-import.md) ', options),
  h('p', {}, h('button', { type: 'submit' }, 'Import')));
  root.append(form, out);
}
