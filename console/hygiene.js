// hygiene.js - the data hygiene page: each rule of the seed's "Data Hygiene
// Rules" as GET /v1/hygiene measures it (value, threshold, status colour and
// the note: what it counts, or why nothing could be measured), and a rule's
// offending records, paged by the API's cursor (GET /v1/hygiene/{rule}).
import { h, get, int, pct, fig, table, loading, errorBox, setParams } from './util.js';

const COLOUR = { green: 'green', yellow: 'yellow', red: 'red' };
const PAGE = 50;

function section(title, ...content) {
  return h('section', { class: 'card', 'aria-label': title }, h('h2', {}, title), ...content);
}

// A rule's value is a share (duplicates, completion, match rate) except for
// the flag and count rules, whose value the API gives as the share flagged too.
const share = (v) => (v === null || v === undefined ? '—' : pct(v));

// The note beside a rule: the reason when it measured nothing, else what the
// value counts, and the per-field breakdown where the API gives one.
function noteOf(r) {
  if (r.reason) return r.reason;
  const parts = [`${int(r.offending)} of ${int(r.population)} ${r.population_of} offend`];
  if (r.by_field) parts.push(`by field: ${Object.entries(r.by_field).map(([k, n]) => `${k.replace(/_/g, ' ')} ${int(n)}`).join(', ')}`);
  parts.push(`${r.frequency}, owner ${r.owner}`);
  return parts.join('; ');
}

// One page of a rule's records: the columns are the records' own fields.
function recordsTable(rule, items) {
  const keys = [];
  for (const it of items) for (const k of Object.keys(it)) if (!keys.includes(k)) keys.push(k);
  const first = ['deal_id', 'account_id', 'lead_id', 'id', 'name'].filter((k) => keys.includes(k));
  const cols = [...first, ...keys.filter((k) => !first.includes(k))];
  const show = (v) => (v === null || v === undefined ? '—' : Array.isArray(v) ? v.map((x) => (typeof x === 'object' ? JSON.stringify(x) : String(x))).join(', ')
    : typeof v === 'object' ? JSON.stringify(v) : String(v));
  return table(`Offending records of "${rule.name}"`, cols.map((k) => ({
    label: k.replace(/_/g, ' '), key: k, fmt: (v) => (k === 'deal_id' && v ? h('a', { href: `#/pipeline?deal=${encodeURIComponent(v)}` }, v) : show(v)),
    num: typeof (items.find((x) => x[k] !== null && x[k] !== undefined) || {})[k] === 'number',
  })), items, { name: 'hygiene-records' });
}

async function ruleDetail(box, id) {
  const cursors = [null];
  box.replaceChildren(h('h2', {}, `Rule ${id}`), loading());
  async function show() {
    const cursor = cursors[cursors.length - 1];
    try {
      const p = await get(`/v1/hygiene/${encodeURIComponent(id)}?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      box.replaceChildren(h('h2', {}, `${p.name}: offending records`),
        h('p', { class: 'note' }, `As of ${p.as_of}. `, h('span', { class: `badge ${COLOUR[p.status] || 'none'}` }, p.status), ' ',
          fig('rule.value', p.value, share(p.value)), ` against ${p.threshold}; `, fig('rule.offending', p.offending, int(p.offending)), ` offending of ${int(p.population)} ${p.population_of}.`),
        // (replaceChildren would write a null as the text "null")
        ...(p.reason ? [h('p', { class: 'note', 'data-rule-reason': 'true' }, p.reason)] : []),
        p.items.length ? recordsTable(p, p.items) : h('p', { class: 'note' }, cursors.length > 1 ? 'No more records.' : 'No offending record.'),
        h('div', { class: 'toolbar' },
          h('span', { class: 'note' }, `Page ${cursors.length} (${p.items.length} records, ordered by record id)`),
          h('button', { type: 'button', class: 'secondary', 'data-control': 'hygiene-prev', disabled: cursors.length === 1 ? true : null, onclick: () => { cursors.pop(); show(); } }, 'Previous page'),
          h('button', { type: 'button', class: 'secondary', 'data-control': 'hygiene-next', disabled: p.next_cursor ? null : true, onclick: () => { cursors.push(p.next_cursor); show(); } }, 'Next page')));
    } catch (e) {
      box.replaceChildren(h('h2', {}, `Rule ${id}`), errorBox(e));
    }
  }
  await show();
}

export async function hygienePage(root, params, alive) {
  root.append(h('h1', {}, 'Data hygiene'));
  const d = await get('/v1/hygiene');
  if (!alive()) return;
  const detail = h('section', { class: 'card', 'aria-label': 'Offending records', id: 'hygiene-rule' }, h('h2', {}, 'Offending records'),
    h('p', { class: 'note' }, 'Pick a rule for all its offending records.'));
  const open = (id) => { setParams({ rule: id }); detail.scrollIntoView({ block: 'start' }); return ruleDetail(detail, id); };
  const S = d.summary;
  root.append(section(`The seed's hygiene rules, as of ${d.as_of}`,
    h('p', { class: 'note' }, `${S.rules} rules, ${S.measured} measured: `, fig('hygiene.green', S.green, `${S.green} green`), ', ', fig('hygiene.yellow', S.yellow, `${S.yellow} yellow`), ', ',
      fig('hygiene.red', S.red, `${S.red} red`), `. An open deal is stale after ${d.stale_after_days} days without a change, a stage move or an activity; yellow is a flag rule with records to act on; unknown means nothing to measure.`),
    table('Each rule: value against threshold, status and note; a rule\'s name opens its records', [
      { label: 'Rule', key: 'name', fmt: (v, r) => h('button', { type: 'button', class: 'secondary', 'data-rule': r.id, onclick: () => open(r.id) }, v) },
      { label: 'Value', key: 'value', num: true, fmt: share, figure: (r) => `hygiene.${r.id}.value` },
      { label: 'Threshold', key: 'threshold', fmt: (v, r) => `${v}${r.comparison === 'flag' ? ' (flag)' : ''}` },
      { label: 'Status', key: 'status', fmt: (v) => h('span', { class: `badge ${COLOUR[v] || 'none'}`, 'data-status': v }, v), figure: (r) => `hygiene.${r.id}.status` },
      { label: 'Offending', key: 'offending', num: true, fmt: int, figure: (r) => `hygiene.${r.id}.offending` },
      { label: 'Of', key: 'population', num: true, fmt: int, figure: (r) => `hygiene.${r.id}.population` },
      { label: 'Note', value: noteOf, fmt: (v, r) => h('span', { 'data-note': r.id }, v) },
    ], d.rules, { name: 'hygiene' })), detail);
  if (params.get('rule')) await ruleDetail(detail, params.get('rule'));
}
