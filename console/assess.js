// assess.js - the assessments page: the stored RevOps maturity assessments
// (GET /v1/assessments), one of them in full (GET /v1/assessments/{id}: the
// six dimensions 1-5 with their evidence, total, stage and focus; the
// 100-point rubric with its band; the seed's edge-case advice), what moved
// against an earlier one (GET /v1/assessments/{id}/compare), and for a write
// or admin key the form that POSTs a new one (the seed's revops-audit.yaml
// with answers, as YAML or JSON: the API reads both).
import { session, ApiError, get, all, h, int, fig, kpi, table, loading, errorBox, setParams } from './util.js';
import { bars } from './bars.js';
import { rerender } from './leads.js';

function section(title, ...content) {
  return h('section', { class: 'card', 'aria-label': title }, h('h2', {}, title), ...content);
}

const label = (k) => String(k).replace(/_/g, ' ');
const num2 = (v) => (v === null || v === undefined ? '—' : (Math.round(v * 100) / 100).toFixed(2));
const signed = (v) => (v === null || v === undefined ? '—' : `${v > 0 ? '+' : v < 0 ? '−' : '±'}${num2(Math.abs(v))}`);

// The seed's revops-audit.yaml, blank as the seed ships it, with the company
// named and the answers for what the engine cannot see from the workspace.
function template(format) {
  const name = session.info.workspace.name;
  if (format === 'json') {
    return `${JSON.stringify({
      company_name: name, arr_current: '', arr_target: '', stage: '', model: '', avg_deal_size: '', sales_cycle_days: '',
      team_size: { marketing: 0, sales: 0, cs: 0, revops: 0 },
      tech_stack: { crm: '', marketing_automation: '', cs_platform: '', billing: '', data_warehouse: '', bi_tool: '' },
      current_pain: [],
      answers: { dimensions: { alignment: 1, enablement: 1 }, rubric: {} },
    }, null, 2)}\n`;
  }
  return `# revops-audit.yaml (seed 001), with answers for what the workspace cannot show
company_name: ${JSON.stringify(name)}
arr_current: ""
arr_target: ""
stage: ""  # pre-revenue | <$1M | $1-5M | $5-20M | $20M+
model: ""  # PLG | sales-led | hybrid | marketplace
avg_deal_size: ""
sales_cycle_days: ""
team_size:
  marketing: 0
  sales: 0
  cs: 0
  revops: 0
tech_stack:
  crm: ""
  marketing_automation: ""
  cs_platform: ""
  billing: ""
  data_warehouse: ""
  bi_tool: ""
current_pain: []
# context: {usage_based_pricing: false, multi_product: false, international: false, post_merger: false}
answers:
  dimensions:   # 1-5 where the engine has no evidence (alignment, enablement) or beyond it
    alignment: 1
    enablement: 1
  rubric: {}    # e.g. compensation: {plans_documented: 1}
`;
}

// POST the document as typed, in its own media type (the API's JSON client
// in util.js sends JSON only); a refusal is an ApiError like any other.
async function submit(text, format, idem) {
  const r = await fetch('/v1/assessments', { method: 'POST', cache: 'no-store',
    headers: { Authorization: `Bearer ${session.key()}`, 'Content-Type': format === 'json' ? 'application/json' : 'application/yaml', 'Idempotency-Key': idem },
    body: text });
  const type = r.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await r.json() : await r.text();
  if (!r.ok) {
    if (r.status === 401) window.dispatchEvent(new Event('revops-unauthorized'));
    throw new ApiError(r.status, typeof data === 'object' ? data : null);
  }
  return data;
}

// One key per submission: a retried request is not scored twice. randomUUID
// needs a secure context (https or localhost); elsewhere time and randomness.
const idemKey = () => (window.crypto && crypto.randomUUID ? crypto.randomUUID() : `${Date.now().toString(36)}-${Math.random().toString(36).slice(2)}`);

function form() {
  const out = h('div', { id: 'assessment-result' });
  const area = h('textarea', { name: 'doc', rows: '24', spellcheck: 'false', 'aria-label': 'The assessment document' }, template('yaml'));
  let format = 'yaml';
  const pick = h('select', { name: 'format', 'aria-label': 'Format', onchange: (e) => {
    // a template left as it was follows the format; typed text is kept
    if (area.value === template(format)) area.value = template(e.target.value);
    format = e.target.value;
  } }, h('option', { value: 'yaml', selected: true }, 'YAML'), h('option', { value: 'json' }, 'JSON'));
  const button = h('button', { type: 'submit' }, 'Score and keep');
  const f = h('form', { class: 'card write-control', 'data-control': 'assessment-form', 'aria-label': 'New assessment', onsubmit: async (e) => {
    e.preventDefault();
    button.disabled = true;
    out.replaceChildren(loading('Scoring the workspace…'));
    try {
      const a = await submit(area.value, format, idemKey());
      setParams({ id: a.id, against: null });
      rerender();
    } catch (x) {
      out.replaceChildren(errorBox(x));
    }
    button.disabled = false;
  } },
  h('h2', {}, 'New assessment'),
  h('p', { class: 'note' }, 'The seed\'s revops-audit.yaml (blank strings are fine) with optional context and answers. Data, Process, Technology and Analytics are scored from the workspace\'s evidence; Alignment and Enablement from your answers (1-5), else 1. The rubric\'s sub-criteria (0-2) the same way.'),
  h('div', { class: 'toolbar' }, h('label', {}, 'Format ', pick), button), area, out);
  return f;
}

function detail(a) {
  const M = a.maturity, R = a.rubric;
  const dims = M.dimensions;
  return h('div', {},
    h('p', { class: 'note' }, `Made ${a.created_at}, evidence as of ${a.as_of}, for ${a.request.company_name || '(no company name)'}.`),
    h('div', { class: 'kpis' },
      kpi('Maturity total (6-30)', 'assess.total', M.total, int),
      h('div', { class: 'kpi' }, h('div', { class: 'label' }, 'Stage'), h('div', { class: 'value' }, fig('assess.stage', M.stage, label(M.stage)))),
      h('div', { class: 'kpi' }, h('div', { class: 'label' }, 'Weakest'), h('div', { class: 'value' }, fig('assess.weakest', M.weakest, label(M.weakest)))),
      kpi('Rubric (of 100)', 'assess.rubric.total', R.total, num2),
      h('div', { class: 'kpi' }, h('div', { class: 'label' }, 'Band'), h('div', { class: 'value' }, fig('assess.band', R.band, R.band_text)))),
    h('p', { 'data-figure': 'assess.focus', 'data-value': M.focus }, `Focus: ${M.focus}.`),
    h('div', { class: 'row' },
      h('div', {}, bars('The six maturity dimensions (1-5)', dims.map((d) => ({ label: label(d.dimension), value: d.score, note: `${d.level}; from ${d.source}` })), (v) => v.toFixed(1), { cls: (it) => (it.value >= 3 ? 'up' : 'under') })),
      h('div', {}, table('Each dimension: its score, its level, where the score came from', [
        { label: 'Dimension', key: 'dimension', fmt: label },
        { label: 'Score', key: 'score', num: true, fmt: int, figure: (r) => `assess.dim.${r.dimension}` },
        { label: 'Level', key: 'level' },
        { label: 'From', key: 'source' },
        { label: 'Evidence', value: (r) => (r.evidence ? `${r.evidence}${r.evidence_score !== null ? ` (evidence alone: ${r.evidence_score})` : ''}` : r.answer !== null ? `answered ${r.answer}` : 'no evidence, no answer') },
      ], dims, { name: 'assess-dimensions' }))),
    h('h3', {}, `The 100-point rubric: ${num2(R.total)}, ${R.band_text}`),
    table('Each rubric dimension: weight, points and its sub-criteria (0-2)', [
      { label: 'Dimension', key: 'name' },
      { label: 'Weight', key: 'weight', num: true, fmt: int },
      { label: 'Points', key: 'points', num: true, fmt: num2, figure: (r) => `assess.rubric.${r.key}` },
      { label: 'Sub-criteria', key: 'criteria', fmt: (v) => h('ul', {}, v.map((c) => h('li', {}, `${c.name}: ${c.score} (${c.source}${c.evidence ? `: ${c.evidence}` : ''})`))) },
    ], R.dimensions, { name: 'assess-rubric' }),
    a.edge_cases.length ? h('div', {}, h('h3', {}, 'The seed\'s advice for this company'),
      a.edge_cases.map((c) => h('div', { 'data-edge-case': c.case }, h('h4', {}, label(c.case)), h('ul', {}, c.advice.map((x) => h('li', {}, x)))))) : null);
}

function compareBlock(c) {
  const M = c.maturity, R = c.rubric;
  const moves = [
    { what: 'Maturity total', key: 'maturity.total', ...M.total },
    ...M.dimensions.map((d) => ({ what: label(d.dimension), key: `dim.${d.dimension}`, ...d })),
    { what: 'Rubric total', key: 'rubric.total', ...R.total },
    ...R.dimensions.map((d) => ({ ...d, what: `rubric: ${label(d.key)}`, key: `rubric.${d.key}` })),
  ];
  return h('div', {},
    h('p', {}, fig('cmp.stage', `${M.stage.from}>${M.stage.to}`, `Stage ${label(M.stage.from)} → ${label(M.stage.to)}`), '; ',
      fig('cmp.band', `${R.band.from}>${R.band.to}`, `band ${label(R.band.from)} → ${label(R.band.to)}`), '.'),
    table(`From ${c.against} to ${c.id}`, [
      { label: 'What', key: 'what' },
      { label: 'Earlier', key: 'from', num: true, fmt: num2, figure: (r) => `cmp.${r.key}.from` },
      { label: 'This one', key: 'to', num: true, fmt: num2, figure: (r) => `cmp.${r.key}.to` },
      { label: 'Moved', key: 'delta', num: true, fmt: signed, figure: (r) => `cmp.${r.key}.delta` },
    ], moves, { name: 'assess-compare', rowClass: (r) => (r.delta < 0 ? 'rejected' : null) }));
}

async function compareSection(box, a, earlier, against) {
  const pick = h('select', { 'aria-label': 'Compare with', onchange: (e) => { setParams({ against: e.target.value }); show(e.target.value); } },
    earlier.map((x, i) => h('option', { value: x.id, selected: (against ? x.id === against : i === 0) ? true : null }, `${x.created_at} (${x.maturity.total}, ${label(x.maturity.stage)})`)));
  const body = h('div', {});
  box.replaceChildren(h('h2', {}, 'What moved since an earlier assessment'), h('div', { class: 'toolbar' }, h('label', {}, 'Compare with ', pick)), body);
  async function show(id) {
    body.replaceChildren(loading());
    try {
      body.replaceChildren(compareBlock(await get(`/v1/assessments/${a.id}/compare?against=${encodeURIComponent(id)}`)));
    } catch (e) {
      body.replaceChildren(errorBox(e));
    }
  }
  await show(pick.value);
}

export async function assessPage(root, params, alive) {
  root.append(h('h1', {}, 'Assessments'));
  if (session.can('write')) root.append(form());
  const list = await all('/v1/assessments', 400);
  if (!alive()) return;
  const id = params.get('id') || (list[0] && list[0].id);
  const listBox = section('Stored assessments, newest first', list.length ? table('A date opens the assessment', [
    { label: 'Made', key: 'created_at', fmt: (v, r) => h('button', { type: 'button', class: 'secondary', 'data-assessment': r.id, 'aria-current': r.id === id ? 'true' : null, onclick: () => { setParams({ id: r.id, against: null }); rerender(); } }, v) },
    { label: 'Company', value: (r) => r.request.company_name || '—' },
    { label: 'Total', value: (r) => r.maturity.total, num: true, fmt: int },
    { label: 'Stage', value: (r) => label(r.maturity.stage) },
    { label: 'Rubric', value: (r) => r.rubric.total, num: true, fmt: num2 },
    { label: 'Band', value: (r) => r.rubric.band_text },
  ], list, { name: 'assessments' }) : h('p', { class: 'note' }, session.can('write') ? 'No assessment yet: the form above makes the first.' : 'No assessment yet (a write or admin key makes them).'));
  const oneBox = h('section', { class: 'card', 'aria-label': 'Assessment', id: 'assessment' }, h('h2', {}, 'Assessment'));
  const cmpBox = h('section', { class: 'card', 'aria-label': 'Compare', id: 'assessment-compare' });
  root.append(listBox);
  if (!id) return;
  root.append(oneBox, cmpBox);
  try {
    const a = await get(`/v1/assessments/${encodeURIComponent(id)}`);
    if (!alive()) return;
    oneBox.replaceChildren(h('h2', {}, `Assessment of ${a.created_at}`), detail(a));
    // the earlier ones: those made before this one, the latest first (the API's default is the one just before)
    const at = list.findIndex((y) => y.id === a.id);
    const earlier = at >= 0 ? list.slice(at + 1) : list.filter((x) => x.created_at < a.created_at);
    if (earlier.length) await compareSection(cmpBox, a, earlier, params.get('against'));
    else cmpBox.replaceChildren(h('h2', {}, 'What moved since an earlier assessment'), h('p', { class: 'note' }, 'No earlier assessment to compare with.'));
  } catch (e) {
    oneBox.replaceChildren(h('h2', {}, 'Assessment'), errorBox(e));
    cmpBox.remove();
  }
}
