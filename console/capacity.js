// capacity.js - the capacity plan page: POST /v1/capacity/plan (read role,
// nothing stored) with inputs defaulted from the workspace, the answer as
// figures, month and quarter tables and charts (hires by month, cumulative
// capacity against the phased target, headcount against its ramped
// equivalent). A refused plan shows the problem's detail and fields.
import { session, get, post, all, h, money, int, fig, kpi, table, loading, errorBox } from './util.js';
import { periodOf } from './pages.js';
import { bars, lines } from './bars.js';

// The seed's defaults (seed 001 phase 6: $600K quota at 70% attainment; ramp
// 0, 0, 25%, 50%, 50%, then 100%; 25-30% AE attrition; 2 months to hire),
// used where the workspace has nothing better.
const SEED = { quota: 600000, target: 5000000, attainment: 70, attrition: 25, ramp: '0, 0, 25, 50, 50', hire: 2 };

const pad2 = (n) => String(n).padStart(2, '0');

// The first day of fiscal year FY<year> (named for the calendar year it ends in).
function fyStart(year, fsm) { return fsm === 1 ? `${year}-01-01` : `${year - 1}-${pad2(fsm)}-01`; }

// Defaults from the workspace: the plan year is the fiscal year after the
// latest period with data; quota per AE and target are the reps' quotas of
// that latest fiscal year (the FY label, else its four quarters), when set.
async function defaults(params) {
  const fsm = session.info.workspace.fiscal_year_start_month || 1;
  const period = await periodOf(params);
  const m = /^(\d{4})/.exec(String(period));
  const last = m ? Number(m[1]) : new Date().getUTCFullYear();
  const reps = (await all('/v1/reps', 5000)).filter((r) => !r.deleted_at && (r.role === null || r.role === 'ae'));
  const yearQuota = (r) => {
    const q = r.quotas || {};
    if (typeof q[`FY${last}`] === 'number') return q[`FY${last}`];
    const qs = [1, 2, 3, 4].map((i) => q[`${last}-Q${i}`]);
    return qs.every((v) => typeof v === 'number') ? qs.reduce((a, b) => a + b, 0) : null;
  };
  const quotas = reps.map(yearQuota).filter((v) => v !== null);
  const sum = quotas.reduce((a, b) => a + b, 0);
  return {
    fsm, year: last + 1, reps: reps.length, quotaYear: last, withQuota: quotas.length,
    fiscal_year_start: fyStart(last + 1, fsm),
    quota: quotas.length ? Math.round(sum / quotas.length) : SEED.quota,
    target: quotas.length ? Math.round(sum * 100) / 100 : SEED.target,
  };
}

function field(name, label, value, attrs = {}) {
  return h('label', {}, `${label} `, h('input', { name, value: String(value), spellcheck: 'false', ...attrs }));
}

// The form's values as the API's request. Rates are typed in percent and
// sent as the API's percent strings; numbers are sent as typed (the API
// judges them and says what is wrong).
function requestOf(f) {
  const num = (k) => (f[k].value.trim() === '' ? undefined : Number(f[k].value));
  const req = { target: num('target'), quota: num('quota'), attainment: `${f.attainment.value.trim()}%`,
    attrition_rate: `${f.attrition.value.trim() || 0}%`, fiscal_year_start: f.fys.value.trim(),
    time_to_hire_months: num('tth'), backfill: f.backfill.checked };
  const ramp = f.ramp.value.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (ramp.length) req.ramp = ramp.map((x) => `${x}%`);
  const season = f.season.value.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (season.length) req.seasonality = season.map(Number);
  if (f.hfm.value.trim()) req.hire_from_month = Number(f.hfm.value);
  if (f.mhpm.value.trim()) req.max_hires_per_month = Number(f.mhpm.value);
  if (f.roster.value === 'reps') req.from_reps = true;
  else if (f.roster.value === 'ramped') req.roster = [{ start_date: '2000-01-01', count: Number(f.count.value) }];
  else req.roster = [];
  for (const k of Object.keys(req)) if (req[k] === undefined) delete req[k];
  return req;
}

// Fiscal quarters of the plan's months: hires, capacity added, and the
// cumulative capacity, phased target and gap at each quarter's end.
function quartersOf(monthly) {
  const out = [];
  monthly.forEach((m, i) => {
    const q = Math.floor(i / 3);
    if (!out[q]) out[q] = { quarter: `Q${q + 1}`, from: m.month, hires: 0, capacity: 0, backfills: 0 };
    const o = out[q];
    o.months = `${o.from} to ${m.month}`;
    o.hires += m.hires;
    o.capacity = Math.round((o.capacity + m.capacity) * 100) / 100;
    o.backfills = Math.round((o.backfills + m.backfills) * 1000) / 1000;
    o.cumulative = m.cumulative; o.target = m.target; o.gap = m.gap; o.headcount = m.headcount;
  });
  return out;
}

function renderPlan(box, req, p) {
  const num1 = (v) => (v === null || v === undefined ? '—' : (Math.round(v * 10) / 10).toFixed(1));
  box.replaceChildren(
    h('p', { class: 'note' }, `Fiscal year from ${p.fiscal_year_start}; roster: ${p.roster.source === 'reps' ? `${p.roster.reps} reps of the workspace` : p.roster.source === 'request' ? `${p.roster.reps} reps given` : 'none (hiring from zero)'}. `,
      `Required AEs = ceil(target / (quota × attainment)); seats are those AEs under attrition (the seed's "12 at full ramp = hire 14-15").`),
    h('div', { class: 'kpis' },
      kpi('AEs at full ramp', 'capacity.required_aes', p.required_aes, int),
      kpi('Seats to keep them', 'capacity.seats_for_required_aes', p.seats_for_required_aes, int),
      kpi('Team capacity (no hires)', 'capacity.capacity_before', p.capacity_before, money),
      kpi('Gap without hires', 'capacity.gap_before', p.gap_before, money),
      kpi('Hires needed', 'capacity.hires_needed', p.hires_needed, int),
      kpi('Capacity with hires', 'capacity.capacity', p.capacity, money),
      kpi('Gap after hires', 'capacity.gap', p.gap, money),
      kpi('Shortfall (not closable this year)', 'capacity.shortfall', p.shortfall, money)),
    h('p', { 'data-figure': 'capacity.closable', 'data-value': String(p.closable), class: p.closable ? '' : 'error' },
      p.closable ? `The plan closes the gap${p.last_useful_hire_month ? `; the latest start that still adds capacity this year is ${p.last_useful_hire_month}` : ''}.`
        : `No hire this year closes the gap: ${money(p.shortfall)} short${p.last_useful_hire_month ? ` (the latest useful start is ${p.last_useful_hire_month})` : ''}.`));
  const months = p.monthly.map((m) => m.month);
  const hiresRow = h('div', { class: 'row' },
    h('div', {}, bars('New hires starting each month', p.monthly.map((m) => ({ label: m.month.slice(2), value: m.hires, note: `${num1(m.backfills)} expected backfills` })), int)),
    h('div', {}, table('Hires and capacity by fiscal quarter', [
      { label: 'Quarter', key: 'quarter' },
      { label: 'Months', key: 'months' },
      { label: 'Hires', key: 'hires', num: true, fmt: int, figure: (r) => `capacity.quarter.${r.quarter}.hires` },
      { label: 'Capacity', key: 'capacity', num: true, fmt: (v) => money(v) },
      { label: 'Cumulative', key: 'cumulative', num: true, fmt: (v) => money(v) },
      { label: 'Target (phased)', key: 'target', num: true, fmt: (v) => money(v) },
      { label: 'Gap', key: 'gap', num: true, fmt: (v) => money(v) },
    ], quartersOf(p.monthly), { name: 'capacity-quarters' })));
  const capPlot = h('div', { class: 'plot', id: 'capacity-plot' });
  const rampPlot = h('div', { class: 'plot', id: 'ramp-plot' });
  box.append(h('section', { class: 'card', 'aria-label': 'Hiring plan' }, h('h2', {}, `Hiring plan: ${int(p.hires_needed)} hires`), hiresRow),
    h('section', { class: 'card', 'aria-label': 'Capacity against target' }, h('h2', {}, 'Capacity against the target, and the ramp'),
      h('div', { class: 'row' }, capPlot, rampPlot)),
    h('section', { class: 'card', 'aria-label': 'Month by month' }, h('h2', {}, 'Month by month'), table('Each fiscal month with the plan\'s hires', [
      { label: 'Month', key: 'month' },
      { label: 'Headcount', key: 'headcount', num: true, fmt: num1 },
      { label: 'Ramped equivalent', key: 'ramped_equivalent', num: true, fmt: num1, figure: (r) => `capacity.month.${r.month}.ramped_equivalent` },
      { label: 'Capacity', key: 'capacity', num: true, fmt: (v) => money(v), figure: (r) => `capacity.month.${r.month}.capacity` },
      { label: 'Cumulative', key: 'cumulative', num: true, fmt: (v) => money(v), figure: (r) => `capacity.month.${r.month}.cumulative` },
      { label: 'Target (phased)', key: 'target', num: true, fmt: (v) => money(v) },
      { label: 'Gap', key: 'gap', num: true, fmt: (v) => money(v) },
      { label: 'Hires', key: 'hires', num: true, fmt: int, figure: (r) => `capacity.month.${r.month}.hires` },
      { label: 'Backfills', key: 'backfills', num: true, fmt: num1 },
    ], p.monthly, { name: 'capacity-months' })),
    h('details', {}, h('summary', {}, 'The request (POST /v1/capacity/plan)'), h('pre', { 'data-capacity-request': 'true', tabindex: '0' }, JSON.stringify(req, null, 2))));
  lines(capPlot, 'Cumulative capacity and phased target', months, [
    { label: 'Capacity (cumulative)', values: p.monthly.map((m) => m.cumulative), stroke: '#1f5fbf' },
    { label: 'Target (phased)', values: p.monthly.map((m) => m.target), stroke: '#b3261e', dash: [6, 4] },
  ], (v) => money(v));
  lines(rampPlot, 'Headcount and its ramped equivalent', months, [
    { label: 'Headcount', values: p.monthly.map((m) => m.headcount), stroke: '#3b5b8c' },
    { label: 'Ramped equivalent', values: p.monthly.map((m) => m.ramped_equivalent), stroke: '#2f7d4f' },
  ], num1);
}

export async function capacityPage(root, params, alive) {
  root.append(h('h1', {}, 'Capacity plan'));
  const d = await defaults(params);
  if (!alive()) return;
  const out = h('div', { id: 'capacity-result' }, loading('Planning…'));
  const form = h('form', { class: 'card', 'data-control': 'capacity-form', onsubmit: (e) => { e.preventDefault(); plan(); } },
    h('p', { class: 'note' }, d.withQuota
      ? `Defaults: FY${d.year} (after the latest period with data); quota per AE and target from the FY${d.quotaYear} quotas of ${d.withQuota} of the ${d.reps} AEs; attainment, ramp, attrition and time to hire are the seed's.`
      : `Defaults: FY${d.year} (after the latest period with data); no rep has a FY${d.quotaYear} quota, so quota and target are the seed's ($600K at 70%, $5M), as are the ramp, attrition and time to hire.`),
    h('div', { class: 'toolbar' },
      field('fys', 'Fiscal year starts', d.fiscal_year_start, { size: '10' }),
      field('target', 'Target', d.target, { inputmode: 'decimal', size: '12' }),
      field('quota', 'Quota per AE', d.quota, { inputmode: 'decimal', size: '10' }),
      field('attainment', 'Attainment %', SEED.attainment, { inputmode: 'decimal', size: '4' }),
      field('attrition', 'Annual attrition %', SEED.attrition, { inputmode: 'decimal', size: '4' }),
      field('tth', 'Months to hire', SEED.hire, { inputmode: 'numeric', size: '3' }),
      h('label', {}, h('input', { type: 'checkbox', name: 'backfill', checked: true }), ' backfill departures')),
    h('div', { class: 'toolbar' },
      field('ramp', 'Ramp % by tenure month', SEED.ramp, { size: '18' }),
      field('season', 'Seasonality (12 weights, blank = flat)', '', { size: '24' }),
      field('hfm', 'Hire from fiscal month', '', { inputmode: 'numeric', size: '3' }),
      field('mhpm', 'Max hires a month', '', { inputmode: 'numeric', size: '3' })),
    h('div', { class: 'toolbar' },
      h('label', {}, 'Roster ', h('select', { name: 'roster' },
        h('option', { value: 'reps', selected: true }, `the workspace's AEs (${d.reps})`),
        h('option', { value: 'ramped' }, 'a team of ramped reps'),
        h('option', { value: 'none' }, 'nobody (hire from zero)'))),
      field('count', 'Ramped reps', d.reps || 8, { inputmode: 'numeric', size: '4' }),
      h('button', { type: 'submit' }, 'Plan')));
  root.append(form, out);
  let seq = 0;
  async function plan() {
    const mine = ++seq;
    const req = requestOf(form);
    out.replaceChildren(loading('Planning…'));
    try {
      const p = await post('/v1/capacity/plan', req);
      if (mine === seq && alive()) renderPlan(out, req, p);
    } catch (x) {
      if (mine === seq) out.replaceChildren(errorBox(x));
    }
  }
  await plan();
}
