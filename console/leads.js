// leads.js - the leads page: the lead funnel of an MQL cohort (GET
// /v1/leads/funnel: counts per stage and conversion per transition, a chart
// with its table), SLA compliance of the same days (GET /v1/sla/compliance:
// met, breached, pending, median and p90 response in the minutes the API
// gives), and the lead list (GET /v1/leads, paged by its cursor) with a lead's
// score signal by signal on click (GET /v1/leads/{id}/score). Each section
// shows its own refusal (the problem's detail) without hiding the others.
import { session, get, h, int, pct, fig, kpi, table, loading, errorBox, quarters, setParams } from './util.js';
import { periodOf } from './pages.js';
import { funnel } from './charts.js';
import { bars } from './bars.js';

const pad2 = (n) => String(n).padStart(2, '0');
const iso = (t) => new Date(t).toISOString().slice(0, 10);

// The first and last day of a period label as the API reads it (core/caldate.h):
// quarters and FY follow the workspace's fiscal-year start month, FY<Y> is named
// for the calendar year it ends in; months are calendar months.
export function periodDays(label, fsm = 1) {
  let m = /^(\d{4})-Q([1-4])$/.exec(label);
  if (m) {
    const y0 = fsm === 1 ? +m[1] : +m[1] - 1;
    const start = Date.UTC(y0, fsm - 1 + 3 * (+m[2] - 1), 1);
    const end = Date.UTC(y0, fsm - 1 + 3 * +m[2], 0);
    return { from: iso(start), to: iso(end) };
  }
  m = /^(\d{4})-(\d{2})$/.exec(label);
  if (m) return { from: `${m[1]}-${m[2]}-01`, to: iso(Date.UTC(+m[1], +m[2], 0)) };
  m = /^FY(\d{4})$/.exec(label);
  if (m) {
    const y0 = fsm === 1 ? +m[1] : +m[1] - 1;
    return { from: `${y0}-${pad2(fsm)}-01`, to: iso(Date.UTC(y0 + 1, fsm - 1, 0)) };
  }
  return null;
}

// A period picker of quarters around the default period (plus the current one).
export function periodSelect(current, around, onChange) {
  const opts = quarters(/Q/.test(around) ? around : current, 6, 2);
  if (!opts.includes(current)) opts.unshift(current);
  return h('label', {}, 'Period ', h('select', { id: 'period', 'aria-label': 'Period', onchange: (e) => onChange(e.target.value) },
    opts.map((q) => h('option', { value: q, selected: q === current ? true : null }, q))));
}

// A bar's label under a crowded axis: a name's initials (the bar's own label
// and the table beside it carry the full name).
export const initials = (k) => String(k).split(/\s+/).map((w) => w[0]).join('').slice(0, 3);

export const rerender = () => window.dispatchEvent(new HashChangeEvent('hashchange'));

function section(title, ...content) {
  return h('section', { class: 'card', 'aria-label': title }, h('h2', {}, title), ...content);
}

const label = (k) => (k === null || k === undefined ? '(none)' : String(k).replace(/_/g, ' '));

// Minutes as the API gives them, with hours beside them for reading.
export function minutes(v) {
  if (v === null || v === undefined) return '—';
  return v >= 120 ? `${v.toFixed(1)} min (${(v / 60).toFixed(1)} h)` : `${v.toFixed(1)} min`;
}

// ---- the funnel -------------------------------------------------------------

function funnelBlock(g, from, to) {
  const stages = Object.keys(g.counts);
  // the chain is the transitions between consecutive stages of the funnel; the
  // API's last transition (first stage to won) is the cohort's overall rate
  const chain = g.transitions.filter((t, i) => !(i === g.transitions.length - 1 && t.from === g.transitions[0].from && g.transitions.length > 1));
  const chart = chain.map((t) => ({ label: label(t.from), count: t.from_count, rate: t.rate, tier: t.tier ? label(t.tier) : null }));
  if (chain.length) chart.push({ label: label(chain[chain.length - 1].to), count: chain[chain.length - 1].to_count, rate: null });
  const rateOf = (st) => chain.find((t) => t.from === st) || null;
  return h('div', {},
    h('p', { 'data-figure': 'leads.summary', 'data-value': g.summary }, g.summary),
    h('div', { class: 'row' },
      h('div', {}, funnel(`Leads that became MQLs ${from} to ${to}, stage by stage`, chart)),
      h('div', {},
        table('Leads of the cohort that reached each stage', [
          { label: 'Stage', key: 'stage', fmt: label },
          { label: 'Leads', key: 'count', num: true, fmt: int, figure: (r) => `leads.count.${r.stage}` },
          { label: 'To the next stage', key: 'rate', num: true, fmt: (v) => pct(v) },
          { label: 'Tier', key: 'tier', fmt: (v) => (v ? label(v) : '—') },
        ], stages.map((st) => ({ stage: st, count: g.counts[st], rate: rateOf(st) ? rateOf(st).rate : null, tier: rateOf(st) ? rateOf(st).tier : null })), { name: 'lead-counts' }),
        table('Conversion per transition against the seed\'s benchmarks', [
          { label: 'From → to', value: (r) => `${label(r.from)} → ${label(r.to)}` },
          { label: 'Entered', key: 'from_count', num: true, fmt: int },
          { label: 'Reached', key: 'to_count', num: true, fmt: int },
          { label: 'Rate', key: 'rate', num: true, fmt: (v) => pct(v), figure: (r) => `leads.rate.${r.from}.${r.to}` },
          { label: 'Tier', key: 'tier', fmt: (v) => (v ? label(v) : '—'), figure: (r) => `leads.tier.${r.from}.${r.to}` },
        ], g.transitions, { name: 'lead-transitions', rowClass: (r) => (g.bottleneck && r.from === g.bottleneck.from && r.to === g.bottleneck.to ? 'rejected' : null) }))));
}

async function funnelSection(box, days, by) {
  const f = await get(`/v1/leads/funnel?from=${days.from}&to=${days.to}${by ? `&group_by=${by}` : ''}`);
  box.replaceChildren(h('h2', {}, `Lead funnel: the MQL cohort of ${f.from} to ${f.to}`));
  if (!by) {
    const g = f.groups[0];
    if (!g) { box.append(h('p', { class: 'note' }, 'No lead entered MQL in these days.')); return; }
    box.append(funnelBlock(g, f.from, f.to));
    return;
  }
  // by source or owner: one row per group, its counts and step rates
  const stages = f.groups.length ? Object.keys(f.groups[0].counts) : [];
  const steps = f.groups.length ? f.groups[0].transitions.map((t) => `${t.from}.${t.to}`) : [];
  box.append(h('div', { class: 'scroll' }, table(`The cohort by ${by}: leads per stage and conversion per transition`, [
    { label: by === 'owner' ? 'Owner' : 'Source', key: 'key', fmt: label },
    ...stages.map((st) => ({ label: label(st), num: true, value: (g) => g.counts[st], fmt: int, figure: (g) => `leads.${label(g.key)}.count.${st}` })),
    ...steps.map((s) => ({ label: s.split('.').map(label).join(' → '), num: true, value: (g) => { const t = g.transitions.find((x) => `${x.from}.${x.to}` === s); return t ? t.rate : null; }, fmt: (v) => pct(v), figure: (g) => `leads.${label(g.key)}.rate.${s}` })),
    { label: 'Bottleneck', value: (g) => (g.bottleneck ? `${label(g.bottleneck.from)} → ${label(g.bottleneck.to)}` : '—') },
  ], f.groups, { name: 'lead-groups' })));
}

// ---- SLA compliance -----------------------------------------------------------

async function slaSection(box, days, by) {
  const c = await get(`/v1/sla/compliance?from=${days.from}&to=${days.to}&group_by=${by}`);
  box.replaceChildren(h('h2', {}, `SLA compliance: clocks started ${c.from} to ${c.to}`),
    h('p', { class: 'note' }, 'Met / (met + breached); response times are of the responded ones, in business minutes (09:00-17:00 Monday to Friday, the workspace\'s time zone) for the business-hour SLAs. An SLA without a response is breached once its target has passed, else pending.'));
  const rows = c.groups;
  const name = (k) => (by === 'sla' ? label(k) : k === null ? '(none)' : k);
  const why = (v, r) => (v !== null ? minutes(v) : r.met + r.breached === 0 ? '— (nothing responded or due)' : '— (no response)');
  box.append(h('div', {},
    h('div', { class: 'narrow' }, bars(`Share of SLAs met by ${by}`, rows.map((r) => ({ label: by === 'owner' && r.key ? initials(r.key) : name(r.key), value: r.share_met === null ? 0 : r.share_met * 100, note: `${name(r.key)}: ${r.met} met, ${r.breached} breached, ${r.pending} pending` })), (v) => `${v.toFixed(0)}%`)),
    h('div', {}, table(`Per ${by}`, [
      { label: by === 'sla' ? 'SLA' : by === 'owner' ? 'Owner' : 'Source', key: 'key', fmt: name },
      { label: 'Clocks', key: 'total', num: true, fmt: int, figure: (r) => `sla.${r.key}.total` },
      { label: 'Met', key: 'met', num: true, fmt: int, figure: (r) => `sla.${r.key}.met` },
      { label: 'Breached', key: 'breached', num: true, fmt: int, figure: (r) => `sla.${r.key}.breached` },
      { label: 'Pending', key: 'pending', num: true, fmt: int, figure: (r) => `sla.${r.key}.pending` },
      { label: 'Met share', key: 'share_met', num: true, fmt: (v) => pct(v), figure: (r) => `sla.${r.key}.share_met` },
      { label: 'Median response', key: 'median_minutes', num: true, fmt: why, figure: (r) => `sla.${r.key}.median_minutes` },
      { label: 'P90 response', key: 'p90_minutes', num: true, fmt: why, figure: (r) => `sla.${r.key}.p90_minutes` },
    ], rows, { name: 'sla' }))));
  box.append(h('details', {}, h('summary', {}, `Breaches: ${int(c.breaches_total)}${c.breaches.length < c.breaches_total ? ` (the first ${c.breaches.length} listed)` : ''}`),
    table('Each breach: when its clock started, the response (if any), elapsed against target', [
      { label: 'SLA', key: 'sla', fmt: label },
      { label: 'Lead or deal', key: 'subject' },
      { label: 'Owner', key: 'owner' },
      { label: 'Source', key: 'source' },
      { label: 'Started', key: 'started_at' },
      { label: 'Responded', key: 'responded_at', fmt: (v) => v || 'no response' },
      { label: 'Elapsed', key: 'elapsed_minutes', num: true, fmt: minutes },
      { label: 'Target', key: 'target_minutes', num: true, fmt: (v, r) => `${minutes(v)}${r.business_hours ? ' (business)' : ''}` },
    ], c.breaches, { name: 'sla-breaches' })));
}

// ---- the lead list and a lead's score -------------------------------------------

async function scoreDetail(box, id) {
  box.replaceChildren(h('h2', {}, `Score of ${id}`), loading());
  try {
    const s = await get(`/v1/leads/${encodeURIComponent(id)}/score`);
    box.replaceChildren(h('h2', {}, `Score of ${s.lead}`),
      h('p', { class: 'note' }, `As of ${s.as_of} by the model "${s.model.name}" (version ${s.model.version}); stage then: ${label(s.lifecycle_stage)}; last activity ${s.last_activity_at || 'none'}. MQL at ${s.thresholds.mql}, hot at ${s.thresholds.hot_lead}; behavioural points are capped at ${s.behavioral.cap}, firmographic at ${s.firmographic.cap}, negative ones are not.`),
      h('div', { class: 'kpis' },
        kpi('Score', 'score.score', s.score, int),
        h('div', { class: 'kpi' }, h('div', { class: 'label' }, 'Band'), h('div', { class: 'value' }, fig('score.band', s.band, label(s.band)))),
        kpi(`Behavioural (of ${s.behavioral.uncapped} uncapped)`, 'score.behavioral', s.behavioral.points, int),
        kpi(`Firmographic (of ${s.firmographic.uncapped} uncapped)`, 'score.firmographic', s.firmographic.points, int),
        kpi('Negative', 'score.negative', s.negative, int)),
      table('Every signal of the model: what it adds and why', [
        { label: 'Group', key: 'group' },
        { label: 'Signal', key: 'signal' },
        { label: 'Matched', key: 'matched', fmt: (v) => (v ? 'yes' : 'no') },
        { label: 'Points', key: 'points', num: true, fmt: int, figure: (r) => `score.signal.${r.group}.${r.signal}` },
        { label: 'Base', key: 'base_points', num: true, fmt: int },
        { label: 'At', key: 'at', fmt: (v) => v || '—' },
        { label: 'Decayed', key: 'decayed', fmt: (v) => (v ? 'yes' : 'no') },
        { label: 'Why', key: 'detail' },
      ], s.signals, { name: 'score-signals', rowClass: (r) => (r.matched ? null : 'muted') }));
  } catch (e) {
    box.replaceChildren(h('h2', {}, `Score of ${id}`), errorBox(e));
  }
}

const PAGE = 25;

async function listSection(box, scoreBox, params) {
  const stage = params.get('stage') || '';
  const cursors = [null]; // the cursor of each page shown so far: Previous goes back one
  const stages = ['', 'mql', 'sal', 'sql', 'opportunity', 'closed_won', 'closed_lost'];
  const pick = h('select', { 'aria-label': 'Stage', onchange: (e) => { setParams({ stage: e.target.value || null }); cursors.length = 1; show(); } },
    stages.map((s) => h('option', { value: s, selected: s === stage ? true : null }, s ? label(s) : 'any stage')));
  const body = h('div', {}, loading());
  box.replaceChildren(h('h2', {}, 'Leads'), h('div', { class: 'toolbar' }, h('label', {}, 'Stage ', pick)), body);
  async function show() {
    const cursor = cursors[cursors.length - 1];
    const st = pick.value;
    body.replaceChildren(loading());
    try {
      const p = await get(`/v1/leads?limit=${PAGE}${st ? `&lifecycle_stage=${encodeURIComponent(st)}` : ''}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      const open = (id) => { setParams({ lead: id }); scoreDetail(scoreBox, id); scoreBox.scrollIntoView({ block: 'nearest' }); };
      body.replaceChildren(
        table(`Page ${cursors.length}: ${p.items.length} leads by id${st ? `, stage ${label(st)}` : ''}; a lead's id opens its score`, [
          { label: 'Lead', key: 'id', fmt: (v) => h('button', { type: 'button', class: 'secondary', 'data-lead': v, onclick: () => open(v) }, v) },
          { label: 'Company', key: 'company' },
          { label: 'Owner', key: 'owner' },
          { label: 'Source', key: 'original_source', fmt: (v) => (v ? label(v) : '—') },
          { label: 'Stage', key: 'lifecycle_stage', fmt: (v, r) => `${label(v)}${r.rejection_reason ? ` (rejected: ${r.rejection_reason})` : ''}` },
          { label: 'Since', key: 'stage_entered_at', fmt: (v) => (v ? v.slice(0, 10) : '—') },
          { label: 'Deals', key: 'deals', fmt: (v) => (v.length ? v.join(', ') : '—') },
        ], p.items, { name: 'leads' }),
        h('div', { class: 'toolbar' },
          h('button', { type: 'button', class: 'secondary', 'data-control': 'leads-prev', disabled: cursors.length === 1 ? true : null, onclick: () => { cursors.pop(); show(); } }, 'Previous page'),
          h('button', { type: 'button', class: 'secondary', 'data-control': 'leads-next', disabled: p.next_cursor ? null : true, onclick: () => { cursors.push(p.next_cursor); show(); } }, 'Next page')));
    } catch (e) {
      body.replaceChildren(errorBox(e));
    }
  }
  await show();
}

export async function leadsPage(root, params, alive) {
  const period = await periodOf(params);
  const fsm = session.info.workspace.fiscal_year_start_month || 1;
  const days = periodDays(period, fsm);
  const fby = params.get('funnel_by') || '';
  const sby = params.get('sla_by') || 'sla';
  const go = (k) => (e) => { setParams({ [k]: e.target.value || null }); rerender(); };
  root.append(h('h1', {}, 'Leads'),
    h('div', { class: 'toolbar' },
      periodSelect(period, period, (p) => { setParams({ period: p }); rerender(); }),
      h('label', {}, 'Funnel by ', h('select', { 'aria-label': 'Funnel by', onchange: go('funnel_by') },
        [['', 'all leads'], ['source', 'source'], ['owner', 'owner']].map(([v, t]) => h('option', { value: v, selected: v === fby ? true : null }, t)))),
      h('label', {}, 'SLAs by ', h('select', { 'aria-label': 'SLAs by', onchange: go('sla_by') },
        ['sla', 'owner', 'source'].map((v) => h('option', { value: v, selected: v === sby ? true : null }, v)))),
      h('span', { class: 'note' }, days ? `${days.from} to ${days.to}` : '')));
  const funnelBox = h('section', { class: 'card', 'aria-label': 'Lead funnel' }, h('h2', {}, 'Lead funnel'), loading());
  const slaBox = h('section', { class: 'card', 'aria-label': 'SLA compliance' }, h('h2', {}, 'SLA compliance'), loading('Measuring the SLAs…'));
  const listBox = section('Leads', loading());
  const scoreBox = h('section', { class: 'card', 'aria-label': 'Lead score', id: 'lead-score' }, h('h2', {}, 'Lead score'), h('p', { class: 'note' }, 'Pick a lead in the list to see its score signal by signal.'));
  root.append(funnelBox, slaBox, listBox, scoreBox);
  if (!days) {
    const bad = h('p', { class: 'error', role: 'alert' }, `"${period}" is not a period this page reads (2017-Q4, 2017-10 or FY2017).`);
    funnelBox.replaceChildren(bad);
    slaBox.replaceChildren();
  }
  // a refused section says why in place of its content (the problem's detail)
  const guard = (box, title, p) => p.catch((e) => { if (alive()) box.replaceChildren(h('h2', {}, title), errorBox(e)); });
  await Promise.all([
    days ? guard(funnelBox, 'Lead funnel', funnelSection(funnelBox, days, fby)) : null,
    days ? guard(slaBox, 'SLA compliance', slaSection(slaBox, days, sby)) : null,
    guard(listBox, 'Leads', listSection(listBox, scoreBox, params)),
    params.get('lead') ? scoreDetail(scoreBox, params.get('lead')) : null,
  ]);
}
