// pages.js - the console's pages, in the order users look at them. Every
// figure comes from the API as it answered (data-value keeps the exact
// number); a control that writes exists only for a key whose role may use it.
import { session, get, post, all, h, money, pct, ratio, int, fig, kpi, table, loading, errorBox, quarters, setParams } from './util.js';
import { waterfall, funnel, band, tornado } from './charts.js';

// The period a page opens on: the one GET /v1/dashboard answers for without
// ?period= (the latest period with data when the current one has none).
let defaultPeriod = null;
export async function periodOf(params) {
  if (params.get('period')) return params.get('period');
  if (!defaultPeriod) defaultPeriod = (await get('/v1/dashboard')).period;
  return defaultPeriod;
}

function periodPicker(current, onChange) {
  const base = defaultPeriod && /Q/.test(defaultPeriod) ? defaultPeriod : current;
  const opts = quarters(/Q/.test(current) ? current : base, 6, 2);
  if (!opts.includes(current)) opts.unshift(current);
  const sel = h('select', { id: 'period', 'aria-label': 'Period', onchange: (e) => onChange(e.target.value) },
    opts.map((q) => h('option', { value: q, selected: q === current ? true : null }, q)));
  return h('label', {}, 'Period ', sel);
}

function section(title, ...content) {
  return h('section', { class: 'card', 'aria-label': title }, h('h2', {}, title), ...content);
}

// ---- Forecast call --------------------------------------------------------

function rollupRows(groups) {
  // the forecast's own groups: each manager (parent: null) as the API rolled
  // it up, followed by its reps; reps whose manager has no group of its own last
  const keys = new Set(groups.map((g) => g.key));
  const byKey = (a, b) => a.key.localeCompare(b.key);
  const rows = [];
  for (const top of groups.filter((g) => !g.parent).sort(byKey)) {
    const reps = groups.filter((g) => g.parent === top.key).sort(byKey);
    rows.push({ ...top, level: reps.length ? 'manager' : 'rep' });
    for (const r of reps) rows.push({ ...r, level: 'rep' });
  }
  for (const r of groups.filter((g) => g.parent && !keys.has(g.parent)).sort(byKey)) rows.push({ ...r, level: 'rep' });
  return rows;
}

function snapshotWaterfall(d) {
  const w = d.waterfall;
  const steps = [
    { label: 'Start', value: w.start, kind: 'total' },
    { label: 'New', value: w.new, kind: 'delta' },
    { label: 'Reopened', value: w.reopened, kind: 'delta' },
    { label: 'Amount up', value: w.amount_up, kind: 'delta' },
    { label: 'Amount down', value: -w.amount_down, kind: 'delta' },
    { label: 'Won', value: -w.won, kind: 'delta' },
    { label: 'Lost', value: -w.lost, kind: 'delta' },
    { label: 'Removed', value: -w.removed, kind: 'delta' },
    { label: 'End', value: w.end, kind: 'total' },
  ];
  const keys = ['start', 'new', 'reopened', 'amount_up', 'amount_down', 'won', 'lost', 'removed', 'end'];
  const tbl = table(`Pipeline ${d.from.label} → ${d.to.label}`, [
    { label: 'Step', key: 'label' },
    { label: 'Amount', key: 'amount', num: true, fmt: (v) => money(v), figure: (r) => `waterfall.${r.key}` },
    { label: 'Deals', key: 'deals', num: true, fmt: int },
  ], keys.map((k, i) => ({ key: k, label: steps[i].label, amount: w[k], deals: d.counts[k] ?? null })), { name: 'waterfall' });
  return h('div', { class: 'row' }, h('div', {}, waterfall(`What changed: ${d.from.label} to ${d.to.label}`, steps, (v) => money(v))), h('div', {}, tbl));
}

async function weekOverWeek(box, period, trendPoints, rerender) {
  // the two latest snapshots up to the period's last weekly point (the one on
  // the Monday after a period's last day is its end state: its label names
  // the next quarter, so snapshots are not filtered by their period)
  const upto = trendPoints.length ? trendPoints[trendPoints.length - 1].as_of : null;
  const snaps = (await all('/v1/snapshots', 400)).filter((s) => !upto || s.as_of.slice(0, 10) <= upto)
    .sort((a, b) => a.as_of.localeCompare(b.as_of));
  box.replaceChildren(h('h2', {}, 'What changed since last week'));
  if (session.can('write') && trendPoints.length >= 2) {
    const last = trendPoints[trendPoints.length - 1].as_of, prev = trendPoints[trendPoints.length - 2].as_of;
    box.append(h('p', {}, h('button', { type: 'button', class: 'secondary write-control', 'data-control': 'take-snapshots',
      onclick: async (e) => {
        e.target.disabled = true;
        await post('/v1/snapshots', { as_of: `${prev}T00:00:00Z`, label: `week of ${prev}` });
        await post('/v1/snapshots', { as_of: `${last}T00:00:00Z`, label: `week of ${last}` });
        rerender();
      } }, `Take snapshots as of ${prev} and ${last}`)));
  }
  if (snaps.length < 2) {
    box.append(h('p', { class: 'note' }, 'Fewer than two pipeline snapshots: nothing to compare yet.'));
    return;
  }
  const [a, b] = snaps.slice(-2);
  const d = await get(`/v1/snapshots/${b.id}/diff?against=${a.id}`);
  box.append(snapshotWaterfall(d));
}

async function forecastPage(root, params, alive) {
  const period = await periodOf(params);
  root.append(h('h1', {}, 'Forecast call'),
    h('div', { class: 'toolbar' }, periodPicker(period, (p) => { setParams({ period: p }); window.dispatchEvent(new HashChangeEvent('hashchange')); }),
      h('span', { class: 'note' }, defaultPeriod === period && !params.get('period') ? 'the latest period with data' : '')));
  const head = h('div', {}, loading('Computing the forecast trend (each Monday of the period, as known then)…'));
  root.append(head);
  const [trend, dash] = await Promise.all([
    get(`/v1/forecasts/trend?period=${encodeURIComponent(period)}`),
    get(`/v1/dashboard?period=${encodeURIComponent(period)}&explain=true`),
  ]);
  if (!alive()) return;
  const pts = trend.points || [];
  const last = pts[pts.length - 1] || {};
  const quota = dash.explain && dash.explain.coverage_ratio ? dash.explain.coverage_ratio.inputs.quota : null;
  const gap = quota === null || last.commit === undefined ? null : Math.round((quota - last.commit) * 100) / 100;
  const cov = quota === null || quota - last.won <= 0 ? null : Math.round((last.pipeline / (quota - last.won)) * 100) / 100;
  head.replaceChildren(
    h('p', { class: 'note' }, `As of ${last.as_of || '—'} (${trend.method}; ${last.as_of_rule || ''}). Gap = target − commit; coverage = open pipeline / (target − won).`),
    h('div', { class: 'kpis' },
      kpi('Target (quotas)', 'target', quota, money),
      kpi('Won', 'won', last.won, money),
      kpi('Commit', 'commit', last.commit, money),
      kpi('Best case', 'best_case', last.best_case, money),
      kpi('Pipeline', 'pipeline', last.pipeline, money),
      kpi('Forecast (P50)', 'forecast', last.forecast, money),
      kpi('Gap to target', 'gap', gap, money),
      kpi('Coverage', 'coverage', cov, (v) => ratio(v, 1))));

  // the band over the period's weeks, its numbers beside it
  const plot = h('div', { class: 'plot', id: 'trend-plot' });
  root.append(section('Forecast over the period (P10–P90)', h('div', { class: 'row' }, plot,
    h('div', {}, table('The forecast each Monday, as known then', [
      { label: 'Week of', key: 'as_of' },
      { label: 'P10', key: 'p10', num: true, fmt: (v) => money(v), figure: (r) => `trend.${r.as_of}.p10` },
      { label: 'Forecast', key: 'forecast', num: true, fmt: (v) => money(v), figure: (r) => `trend.${r.as_of}.forecast` },
      { label: 'P90', key: 'p90', num: true, fmt: (v) => money(v), figure: (r) => `trend.${r.as_of}.p90` },
      { label: 'Won', key: 'won', num: true, fmt: (v) => money(v) },
    ], pts, { name: 'trend' })))));
  band(plot, `Forecast for ${period}`, pts, (v) => money(v));

  // roll-up and at-risk deals: a stored forecast of the period (by manager)
  const callBox = section('Roll-up: manager → rep', loading());
  const riskBox = section('At-risk deals', loading());
  root.append(h('div', { class: 'grid' }, callBox, riskBox));
  const stored = (await all('/v1/forecasts', 400)).filter((f) => f.period === period && f.group_by === 'manager')
    .sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  if (!alive()) return;
  const rerender = () => window.dispatchEvent(new HashChangeEvent('hashchange'));
  const run = session.can('write') ? h('button', { type: 'button', class: 'write-control', 'data-control': 'run-forecast',
    onclick: async (e) => {
      e.target.disabled = true;
      e.target.textContent = 'Running…';
      await post('/v1/forecasts', { period, group_by: 'manager', ...(last.as_of ? { as_of: last.as_of } : {}) });
      rerender();
    } }, `Run the call as of ${last.as_of || 'today'}`) : null;
  const f = stored[0];
  if (!f) {
    callBox.replaceChildren(h('h2', {}, 'Roll-up: manager → rep'), h('p', { class: 'note' },
      session.can('write') ? 'No forecast by manager stored for this period yet.' : 'No forecast by manager stored for this period yet; a key with write access can run one.'), run);
    riskBox.replaceChildren(h('h2', {}, 'At-risk deals'), h('p', { class: 'note' }, 'They come with a stored forecast.'));
  } else {
    callBox.replaceChildren(h('h2', {}, 'Roll-up: manager → rep'),
      h('p', { class: 'note' }, `Forecast ${f.id.slice(0, 8)} (${f.method_used}) as of ${f.as_of}, made ${f.created_at}.`), run,
      table('Won, commit, best case and forecast by manager and rep', [
        { label: 'Manager / rep', key: 'key' },
        { label: 'Won', key: 'closed_won', num: true, fmt: (v) => money(v) },
        { label: 'Commit', key: 'commit', num: true, fmt: (v) => money(v) },
        { label: 'Best case', key: 'best_case', num: true, fmt: (v) => money(v) },
        { label: 'Forecast', key: 'expected', num: true, fmt: (v) => money(v), figure: (r) => `rollup.${r.key}` },
        { label: 'Open', key: 'open_deals', num: true, fmt: int },
        { label: 'At risk', key: 'flagged_deals', num: true, fmt: int },
      ], rollupRows(f.groups || []), { name: 'rollup', rowClass: (r) => (r.level === 'manager' ? 'group' : 'sub') }));
    const deals = (f.at_risk && f.at_risk.deals) || [];
    riskBox.replaceChildren(h('h2', {}, 'At-risk deals'),
      h('p', {}, fig('at_risk.amount', f.at_risk ? f.at_risk.amount : null, `${money(f.at_risk ? f.at_risk.amount : null)} in ${deals.length} deals`)),
      table('Deals the forecast flags, with its reasons', [
        { label: 'Deal', key: 'deal', fmt: (v) => h('a', { href: `#/pipeline?deal=${encodeURIComponent(v)}` }, v) },
        { label: 'Amount', key: 'amount', num: true, fmt: (v) => money(v) },
        { label: 'Reasons', key: 'reasons', fmt: (v) => (v || []).join(', ').replace(/_/g, ' ') },
      ], deals.slice(0, 25), { name: 'at-risk' }),
      deals.length > 25 ? h('p', { class: 'note' }, `and ${deals.length - 25} more`) : null);
  }
  const wow = h('section', { class: 'card', 'aria-label': 'What changed since last week' }, loading());
  root.append(wow);
  await weekOverWeek(wow, period, pts, rerender);
}

// ---- Dashboard ------------------------------------------------------------

const SECTIONS = [
  ['ARR', 'arr', [['current', 'Current', money], ['beginning_of_quarter', 'Beginning of period', money], ['new_business', 'New business', money], ['expansion', 'Expansion', money], ['reactivation', 'Reactivation', money], ['contraction', 'Contraction', money], ['churned', 'Churned', money], ['net_new', 'Net new', money]]],
  ['Retention', 'retention', [['nrr', 'NRR', pct], ['grr', 'GRR', pct], ['logo_retention', 'Logo retention', pct]]],
  ['Efficiency', 'efficiency', [['cac', 'CAC', money], ['ltv', 'LTV', money], ['ltv_cac_ratio', 'LTV:CAC', (v) => ratio(v, 1, ':1')], ['cac_payback_months', 'CAC payback (months)', (v) => ratio(v, 1, '')], ['magic_number', 'Magic number', (v) => ratio(v, 2, '')], ['burn_multiple', 'Burn multiple', (v) => ratio(v, 2)]]],
  ['Pipeline', 'pipeline', [['total_value', 'Total', money], ['total_deals', 'Deals', int], ['coverage_ratio', 'Coverage', (v) => ratio(v, 1)], ['weighted_pipeline', 'Weighted', money], ['new_created_this_month', 'Created this month', money], ['velocity_per_day', 'Velocity per day', money]]],
  ['Conversion', 'conversion', [['mql_to_sql', 'MQL → SQL', pct], ['sql_to_opp', 'SQL → opportunity', pct], ['opp_to_closed_won', 'Opportunity → won', pct], ['full_funnel', 'Full funnel', pct]]],
  ['Forecast', 'forecast', [['commit', 'Commit', money], ['best_case', 'Best case', money], ['pipeline', 'Pipeline', money], ['expected', 'Expected', money], ['p10', 'P10', money], ['p90', 'P90', money], ['actual_vs_forecast_last_month', 'Actual / forecast last month', pct], ['mape', 'MAPE', pct]]],
];

// Why a figure is null, when the answer says: a null_reasons map (section.key
// or key -> text) if the server gives one, else the health signal of the metric.
function reasonFor(doc, sec, key) {
  const nr = doc.null_reasons;
  if (nr) {
    const v = nr[`${sec}.${key}`] ?? nr[key] ?? (nr[sec] && typeof nr[sec] === 'object' ? nr[sec][key] : undefined);
    if (v) return typeof v === 'string' ? v : v.reason || JSON.stringify(v);
  }
  // CAC and LTV have no signal of their own: LTV:CAC's says why they are missing
  const metric = { cac: 'ltv_cac_ratio', ltv: 'ltv_cac_ratio', mape: 'forecast_mape' }[key] || key;
  const s = (doc.health_signals || []).find((x) => x.metric === metric || (sec === 'arr' && x.metric === 'arr'));
  return s && s.status === null ? s.note : null;
}

async function dashboardPage(root, params, alive) {
  const period = await periodOf(params);
  const q = params.get('period') ? `?period=${encodeURIComponent(period)}` : '';
  const doc = await get(`/v1/dashboard${q}`);
  if (!alive()) return;
  const yamlBox = h('div', {});
  const yamlBtn = h('button', { type: 'button', class: 'secondary', 'data-control': 'yaml', onclick: async () => {
    if (yamlBox.firstChild) { yamlBox.replaceChildren(); yamlBtn.textContent = 'Show YAML'; return; }
    const text = await get(`/v1/dashboard${q}`, { accept: 'application/yaml' }); // the same call as the JSON above
    yamlBox.replaceChildren(h('pre', { class: 'yaml', tabindex: '0', 'aria-label': 'The dashboard as YAML' }, text));
    yamlBtn.textContent = 'Hide YAML';
  } }, 'Show YAML');
  root.append(h('h1', {}, 'Dashboard'),
    h('div', { class: 'toolbar' }, periodPicker(doc.period, (p) => { setParams({ period: p }); window.dispatchEvent(new HashChangeEvent('hashchange')); }),
      fig('period', doc.period, `Period ${doc.period}`), yamlBtn,
      doc.period_note ? h('span', { class: 'note', 'data-figure': 'period_note' }, doc.period_note) : null),
    yamlBox);
  const signals = doc.health_signals || [];
  root.append(section('Health signals', table('Each metric against the seed\'s bands', [
    { label: 'Metric', key: 'metric', fmt: (v) => v.replace(/_/g, ' ') },
    { label: 'Status', key: 'status', fmt: (v) => h('span', { class: `badge ${v || 'none'}` }, v || 'no data') },
    { label: 'Note', key: 'note' },
  ], signals, { name: 'signals' })));
  const grid = h('div', { class: 'grid' });
  for (const [title, sec, rows] of SECTIONS) {
    const obj = doc[sec] || {};
    grid.append(section(title, table(title, [
      { label: 'Metric', key: 'label' },
      { label: 'Value', key: 'value', num: true, fmt: (v, r) => r.fmt(v), figure: (r) => `${sec}.${r.key}` },
      { label: 'Why empty', key: 'why', fmt: (v) => (v ? h('span', { class: 'note' }, v) : '') },
    ], rows.map(([key, label, fmt]) => ({ key, label, fmt, value: obj[key] ?? null, why: obj[key] === null ? reasonFor(doc, sec, key) : null })), { name: sec })));
  }
  root.append(grid);
}

// ---- Pipeline -------------------------------------------------------------

async function dealDetail(box, id) {
  box.hidden = false;
  box.replaceChildren(h('h2', {}, `Deal ${id}`), loading());
  const d = await get(`/v1/deals/${encodeURIComponent(id)}`);
  const facts = [['Name', d.name], ['Owner', d.owner], ['Account', d.account], ['Stage', d.stage], ['Status', d.status],
    ['Amount', money(d.amount, 2)], ['Created', d.created_at], ['Closed', d.closed_at], ['Pushes', d.push_count]];
  box.replaceChildren(h('h2', {}, `Deal ${d.id}`),
    h('dl', { class: 'facts' }, facts.map(([k, v]) => [h('dt', {}, k), h('dd', { 'data-figure': `deal.${k.toLowerCase()}` }, v === null || v === undefined ? '—' : String(v))])),
    table('Stage and field history', [
      { label: 'When', key: 'changed_at' },
      { label: 'Field', key: 'field' },
      { label: 'From', key: 'old', fmt: (v) => (v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v)) },
      { label: 'To', key: 'new', fmt: (v) => (v === null || v === undefined ? '—' : typeof v === 'object' ? JSON.stringify(v) : String(v)) },
      { label: 'Origin', key: 'origin' },
      { label: 'Applied', key: 'applied', fmt: (v) => (v ? 'yes' : 'no (out of order)') },
    ], d.field_history || [], { name: 'deal-history' }));
}

async function pipelinePage(root, params, alive) {
  root.append(h('h1', {}, 'Pipeline'));
  const dealBox = h('section', { class: 'card', 'aria-label': 'Deal', hidden: true });
  const find = h('form', { class: 'toolbar', onsubmit: (e) => { e.preventDefault(); const v = e.target.deal.value.trim(); if (v) { setParams({ deal: v }); dealDetail(dealBox, v).catch((x) => dealBox.append(errorBox(x))); } } },
    h('label', {}, 'Deal id ', h('input', { name: 'deal', id: 'deal-id', value: params.get('deal') || '', spellcheck: 'false' })), h('button', { type: 'submit' }, 'Open'));
  root.append(find);
  const snaps = (await all('/v1/snapshots', 400)).sort((a, b) => b.as_of.localeCompare(a.as_of));
  if (!alive()) return;
  const listBox = section('Snapshots', snaps.length ? table('Pipeline snapshots, newest first', [
    { label: 'Label', key: 'label' },
    { label: 'As of', key: 'as_of' },
    { label: 'Period', key: 'period' },
    { label: 'Open pipeline', value: (r) => r.summary.total, num: true, fmt: (v) => money(v), figure: (r) => `snapshot.${r.id}.total` },
    { label: 'Weighted', value: (r) => r.summary.weighted, num: true, fmt: (v) => money(v) },
    { label: 'Open deals', value: (r) => r.summary.open_deals, num: true, fmt: int },
    { label: 'Compare', value: (r) => r.id, fmt: (v, r) => h('button', { type: 'button', class: 'secondary', 'data-control': 'compare', onclick: () => { setParams({ a: v }); diffOf(r); } }, 'Diff with previous') },
  ], snaps, { name: 'snapshots' }) : h('p', { class: 'note' }, 'No snapshot yet.'));
  const diffBox = h('section', { class: 'card', 'aria-label': 'Snapshot diff' });
  async function diffOf(s) {
    const i = snaps.indexOf(s);
    const prev = snaps[i + 1];
    if (!prev) { diffBox.replaceChildren(h('p', { class: 'note' }, 'The oldest snapshot has nothing before it.')); return; }
    diffBox.replaceChildren(loading());
    const d = await get(`/v1/snapshots/${s.id}/diff?against=${prev.id}`);
    diffBox.replaceChildren(h('h2', {}, 'What changed'), snapshotWaterfall(d),
      table(`Changed deals (${d.changes.length})`, [
        { label: 'Deal', key: 'deal', fmt: (v) => h('a', { href: `#/pipeline?deal=${encodeURIComponent(v)}`, onclick: (e) => { e.preventDefault(); setParams({ deal: v }); dealDetail(dealBox, v); } }, v) },
        { label: 'What', key: 'kinds', fmt: (v) => v.join(', ').replace(/_/g, ' ') },
        { label: 'Before', value: (r) => (r.before ? r.before.amount : null), num: true, fmt: (v) => money(v) },
        { label: 'After', value: (r) => (r.after ? r.after.amount : null), num: true, fmt: (v) => money(v) },
        { label: 'Stage', value: (r) => `${r.before ? r.before.stage : '—'} → ${r.after ? r.after.stage : '—'}` },
      ], d.changes.slice(0, 100), { name: 'changes' }));
  }
  root.append(listBox, diffBox, dealBox);
  if (snaps.length >= 2) await diffOf(snaps[0]);
  if (params.get('deal')) await dealDetail(dealBox, params.get('deal'));
}

// ---- Funnel ---------------------------------------------------------------

async function funnelPage(root, params, alive) {
  const period = await periodOf(params);
  const funnels = await get('/v1/funnels');
  const f = funnels.items.find((x) => x.is_default) || funnels.items[0];
  if (!f) { root.append(h('p', {}, 'No funnel defined.')); return; }
  const P = /^(\d{4})-Q([1-4])$/.exec(period);
  const from = P ? `${P[1]}-${String((P[2] - 1) * 3 + 1).padStart(2, '0')}-01` : params.get('from');
  const endMonth = P ? (P[2] * 3) : 12;
  const to = P ? new Date(Date.UTC(+P[1], endMonth, 0)).toISOString().slice(0, 10) : params.get('to');
  const conv = await get(`/v1/funnels/${f.id}/conversion?from=${from}&to=${to}`);
  if (!alive()) return;
  const steps = conv.transitions.filter((t) => !t.summary);
  const stages = steps.map((t) => ({ label: t.from, count: t.from_count, rate: t.rate, tier: t.tier }));
  if (steps.length) stages.push({ label: steps[steps.length - 1].to, count: steps[steps.length - 1].to_count, rate: null });
  root.append(h('h1', {}, 'Funnel'),
    h('div', { class: 'toolbar' }, periodPicker(period, (p) => { setParams({ period: p }); window.dispatchEvent(new HashChangeEvent('hashchange')); }), h('span', { class: 'note' }, `${f.name}: deals that entered a stage from ${from} to ${to}`)),
    conv.summary ? h('p', { 'data-figure': 'bottleneck' }, typeof conv.summary === 'string' ? conv.summary : JSON.stringify(conv.summary)) : null,
    section('Conversion per transition against the seed\'s benchmarks', h('div', { class: 'row' },
      h('div', {}, funnel(`Funnel ${from} to ${to}`, stages)),
      h('div', {}, table('Rate and tier per transition', [
        { label: 'From → to', value: (r) => `${r.from} → ${r.to}` },
        { label: 'Entered', key: 'from_count', num: true, fmt: int },
        { label: 'Reached', key: 'to_count', num: true, fmt: int },
        { label: 'Rate', key: 'rate', num: true, fmt: (v) => pct(v), figure: (r) => `conversion.${r.from}.${r.to}` },
        { label: 'Median band', value: (r) => (r.benchmark ? `${pct(r.benchmark.median_low, 0)}–${pct(r.benchmark.median_high, 0)}` : '—') },
        { label: 'Tier', key: 'tier', fmt: (v) => (v || '—').replace(/_/g, ' ') },
      ], conv.transitions, { name: 'conversion' })))));
}

// ---- Data -----------------------------------------------------------------

async function dataPage(root, params, alive) {
  root.append(h('h1', {}, 'Data'));
  const events = await get('/v1/webhook-events?limit=50');
  if (!alive()) return;
  root.append(section('Webhook events', events.items.length ? table('The latest stored deliveries and their outcome', [
    { label: 'Received', key: 'received_at' },
    { label: 'Endpoint', key: 'endpoint_id', fmt: (v) => (v || '').slice(0, 8) },
    { label: 'Outcome', key: 'status' },
    { label: 'Object', key: 'object_id' },
    { label: 'Detail', key: 'detail' },
    ...(session.can('write') ? [{ label: '', value: (r) => r.id, fmt: (v) => h('button', { type: 'button', class: 'secondary write-control', 'data-control': 'replay', onclick: async (e) => { e.target.disabled = true; await post(`/v1/webhook-events/${v}/replay`, {}); e.target.textContent = 'Replayed'; } }, 'Replay') }] : []),
  ], events.items, { name: 'webhook-events' }) : h('p', { class: 'note' }, 'No webhook event stored.')));
  if (session.can('admin')) {
    const [eps, keys] = await Promise.all([get('/v1/webhook-endpoints'), get('/v1/keys')]);
    if (!alive()) return;
    root.append(section('Webhook endpoints', eps.items.length ? table('Endpoints the CRMs call', [
      { label: 'Source', key: 'source' }, { label: 'Receiver URL', key: 'url' }, { label: 'Id', key: 'id' },
    ], eps.items, { name: 'webhook-endpoints' }) : h('p', { class: 'note' }, 'No endpoint.')));
    const keyBox = section('API keys', table('Keys of this workspace (the secret is shown once, at creation)', [
      { label: 'Name', key: 'name' }, { label: 'Role', key: 'role' }, { label: 'Prefix', key: 'prefix' },
      { label: 'Created', key: 'created_at' }, { label: 'Last used', key: 'last_used_at' },
    ], keys.items, { name: 'keys' }));
    const created = h('p', { role: 'status' });
    keyBox.append(h('form', { class: 'toolbar admin-control', 'data-control': 'create-key', onsubmit: async (e) => {
      e.preventDefault();
      const k = await post('/v1/keys', { name: e.target.kname.value || 'console', role: e.target.krole.value });
      created.replaceChildren('New key (copy it now, it is not shown again): ', h('code', {}, k.key));
    } }, h('label', {}, 'Name ', h('input', { name: 'kname' })), h('label', {}, 'Role ', h('select', { name: 'krole' }, ['read', 'write', 'admin'].map((r) => h('option', { value: r }, r)))), h('button', { type: 'submit' }, 'Create key')), created);
    root.append(keyBox);
  }
}

// ---- Plans ----------------------------------------------------------------

const PLAN_ROWS = [
  ['Target ARR', (r) => r.targets.total_arr_target, money],
  ['New business', (r) => r.revenue.new_business, money],
  ['Expansion', (r) => r.revenue.expansion, money],
  ['Churn', (r) => r.revenue.churn, money],
  ['Ending ARR', (r) => r.revenue.ending_arr, money],
  ['Ending ARR vs target', (r) => r.revenue.vs_target, money],
  ['Pipeline needed', (r) => r.derived.pipeline_needed, money],
  ['New deals needed', (r) => r.derived.new_deals_needed, int],
  ['SQLs needed', (r) => r.derived.sqls_needed, int],
  ['MQLs needed', (r) => r.derived.mqls_needed, int],
  ['AEs to hire', (r) => r.capacity.hires_needed, int],
  ['Capacity gap after hires', (r) => r.capacity.gap_after_hires, money],
  ['Confidence', (r) => r.confidence, pct],
];

async function plansPage(root, params, alive) {
  root.append(h('h1', {}, 'Plans'));
  const sets = (await all('/v1/scenarios', 200)).sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  if (!alive()) return;
  if (session.can('write')) {
    const period = await periodOf(params);
    const year = Number(String(period).slice(0, 4)) + 1;
    const dash = await get(`/v1/dashboard?period=${encodeURIComponent(period)}`);
    const arr = dash.arr && dash.arr.current ? dash.arr.current : 0;
    const field = (name, label, value) => h('label', {}, `${label} `, h('input', { name, type: 'number', min: '0', step: 'any', value: String(value) }));
    const msg = h('p', { role: 'status' });
    root.append(section('Plan a year from history', h('p', { class: 'note' }, `Targets and capacity are yours; the other assumptions are learned from the deals closed in the year to the end of ${period} (from_history).`),
      h('form', { class: 'toolbar write-control', 'data-control': 'plan', onsubmit: async (e) => {
        e.preventDefault();
        const f = e.target, n = (k) => Number(f[k].value);
        msg.textContent = 'Computing…';
        try {
          await post('/v1/scenarios', { name: `FY${year} plan`, from_history: true, history_as_of: `${year - 1}-12-31`,
            plan: { fiscal_year: String(year), targets: { total_arr_target: n('target'), new_business: n('nb'), expansion: n('exp') },
              assumptions: { avg_expansion_deal_size: n('expsize'), expansion_win_rate: 0.5, avg_sales_cycle_expansion: 45 },
              capacity: { quota_per_ae: n('quota'), expected_attainment: 0.7, current_aes: n('aes') } },
            scenarios: ['bear', 'base', 'bull'] });
          window.dispatchEvent(new HashChangeEvent('hashchange'));
        } catch (x) { msg.replaceChildren(errorBox(x)); }
      } },
      field('target', 'Target ARR', Math.round(arr * 1.4)), field('nb', 'New business', Math.round(arr * 0.3)),
      field('exp', 'Expansion', Math.round(arr * 0.2)), field('expsize', 'Expansion deal', 5000),
      field('quota', 'Quota per AE', 400000), field('aes', 'AEs', 30), h('button', { type: 'submit' }, 'Compute bear / base / bull')), msg));
  }
  const set = sets[0];
  if (!set) { root.append(h('p', { class: 'note' }, 'No scenario stored yet.')); return; }
  const res = set.results || [];
  root.append(section(`${set.name} (FY${set.fiscal_year}): bear / base / bull`, h('p', { class: 'note' }, `Stored ${set.created_at}.`),
    table('Each scenario side by side', [{ label: '', key: 'label' },
      ...res.map((r) => ({ label: r.name, key: r.name, num: true, fmt: (v, row) => row.fmt(v), figure: (row) => `plan.${r.name}.${row.label}` }))],
    PLAN_ROWS.map(([label, pick, fmt]) => Object.fromEntries([['label', label], ['fmt', fmt], ...res.map((r) => [r.name, pick(r)])])), { name: 'scenarios' })));
  const base = res.find((r) => r.name === 'base') || res[0];
  if (base && base.sensitivity && base.sensitivity.rows.length) {
    const rows = base.sensitivity.rows;
    root.append(section(`Sensitivity of the ${base.name} scenario's ending ARR`, h('div', { class: 'row' },
      h('div', {}, tornado('Ending ARR when one input moves a step', rows, (v) => money(v))),
      h('div', {}, table('Ending ARR at each input\'s low and high step', [
        { label: 'Input', key: 'field', fmt: (v) => v.replace(/_/g, ' ') },
        { label: 'Step', value: (r) => `${r.op === 'mul' ? '×' : '±'}${r.step}` },
        { label: 'Low', key: 'low', num: true, fmt: (v) => money(v) },
        { label: 'High', key: 'high', num: true, fmt: (v) => money(v) },
        { label: 'Swing', key: 'swing', num: true, fmt: (v) => money(v), figure: (r) => `tornado.${r.field}` },
      ], rows, { name: 'tornado' })))));
  }
  if (set.sources) {
    root.append(section('Where each assumption came from', table('Assumptions of the plan', [
      { label: 'Assumption', key: 'k', fmt: (v) => v.replace(/_/g, ' ') },
      { label: 'Value', key: 'value', num: true, fmt: (v) => (typeof v === 'number' ? String(Math.round(v * 10000) / 10000) : String(v)) },
      { label: 'Source', key: 'source' },
      { label: 'Basis', key: 'basis', fmt: (v) => v || '' },
    ], Object.entries(set.sources).map(([k, v]) => ({ k, ...v })), { name: 'sources' })));
  }
}

export const pages = {
  forecast: { title: 'Forecast call', render: forecastPage },
  dashboard: { title: 'Dashboard', render: dashboardPage },
  pipeline: { title: 'Pipeline', render: pipelinePage },
  funnel: { title: 'Funnel', render: funnelPage },
  plans: { title: 'Plans', render: plansPage },
  data: { title: 'Data', render: dataPage },
};
