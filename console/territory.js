// territory.js - territory plans: create one from a document (write keys;
// POST /v1/territory-plans, JSON as the API takes it, typed or loaded from a
// file), the stored plans, and one plan's balance per territory (loads
// against the fair share, with a chart), balance indices against today's
// map, the seed's rules, the disruption and the pipeline it moves; apply and
// revert for admin keys.
import { session, get, post, all, h, money, int, fig, kpi, table, loading, errorBox, setParams, announce } from './util.js';
import { bars } from './bars.js';

const CRITERIA = ['accounts', 'potential', 'pipeline', 'workload'];
const r3 = (v) => (v === null || v === undefined ? '—' : Number(v).toFixed(3));
const rerender = () => window.dispatchEvent(new HashChangeEvent('hashchange'));

// The document a new plan starts from: the workspace's accounts into one
// territory per AE (role ae or none), the seed's weights, and a disruption
// weight of 1 (a balanced current map is left alone).
async function defaultDocument() {
  const reps = (await all('/v1/reps', 5000)).filter((r) => !r.deleted_at && (r.role === null || r.role === 'ae'));
  const today = new Date().toISOString().slice(0, 10);
  return { name: `Territories ${today}`, from_accounts: true, territories: Math.max(1, Math.min(1000, reps.length || 4)),
    weights: { accounts: 30, potential: 30, pipeline: 20, workload: 20 }, disruption_weight: 1, rules: { max_tam_ratio: 2 } };
}

function createForm(doc, msg) {
  const area = h('textarea', { name: 'doc', rows: '12', cols: '80', spellcheck: 'false', 'aria-label': 'The plan as JSON (POST /v1/territory-plans)' },
    JSON.stringify(doc, null, 2));
  const file = h('input', { type: 'file', name: 'file', accept: '.json,application/json', 'aria-label': 'Load the document from a file',
    onchange: async (e) => { const f = e.target.files[0]; if (f) area.value = await f.text(); } });
  return h('form', { class: 'write-control', 'data-control': 'territory-create', onsubmit: async (e) => {
    e.preventDefault();
    let body;
    try { body = JSON.parse(area.value); } catch (x) { msg.replaceChildren(h('div', { class: 'error', role: 'alert' }, h('p', { 'data-problem': 'detail' }, `The document is not JSON: ${x.message}`))); return; }
    msg.replaceChildren(loading('Balancing…'));
    try {
      const plan = await post('/v1/territory-plans', body);
      setParams({ plan: plan.id });
      announce(`Plan ${plan.name} stored`);
      rerender();
    } catch (x) { msg.replaceChildren(errorBox(x)); }
  } },
  h('p', { class: 'note' }, 'territories: a count or [{id, segment?, region?, capacity?}]; accounts inline ([{id, potential, pipeline?, workload?, segment?, region?, pinned_territory?, current_territory?}]) or from_accounts: true with pins; weights (default 30/30/20/20); disruption_weight; rules.max_tam_ratio (docs/planning.md).'),
  area, h('div', { class: 'toolbar' }, h('label', {}, 'or load a file ', file), h('button', { type: 'submit' }, 'Balance and store')), msg);
}

function planList(plans, current) {
  return table('Stored plans, newest first', [
    { label: 'Name', key: 'name', fmt: (v, r) => h('a', { href: `#/territories?plan=${r.id}`, 'aria-current': r.id === current ? 'true' : null }, v) },
    { label: 'Created', key: 'created_at' },
    { label: 'Accounts', key: 'accounts', num: true, fmt: int },
    { label: 'Territories', value: (r) => r.territories.length, num: true, fmt: int },
    { label: 'Composite max/mean', value: (r) => r.balance.composite.max_mean, num: true, fmt: r3, figure: (r) => `plans.${r.id}.max_mean` },
    { label: '2× TAM rule', value: (r) => { const t = r.rules.find((x) => x.rule === 'max_tam_ratio'); return t ? (t.holds ? 'holds' : 'broken') : '—'; } },
    { label: 'Moved', value: (r) => r.disruption.accounts_moved, num: true, fmt: int },
    { label: 'Applied', value: (r) => r.applications.filter((a) => !a.reverted_at).length ? 'yes' : 'no' },
  ], plans, { name: 'territory-plans' });
}

function balanceTable(p) {
  const rows = [...CRITERIA, 'composite'].map((c) => ({ c, now: p.balance_current[c], plan: p.balance[c] }));
  // with no account in a territory today the API's indices of today's map are 0: say why
  const noMap = p.disruption.newly_assigned === p.accounts;
  return table(`Balance indices over the territories: the plan against today's map (1.0 max/mean is perfect)${noMap ? '; no account holds a territory today, so today\'s indices are 0' : ''}`, [
    { label: 'Criterion', key: 'c' },
    { label: 'Max/mean', value: (r) => r.plan.max_mean, num: true, fmt: r3, figure: (r) => `balance.${r.c}.max_mean` },
    { label: 'Max/min', value: (r) => r.plan.max_min, num: true, fmt: r3, figure: (r) => `balance.${r.c}.max_min` },
    { label: 'CV', value: (r) => r.plan.cv, num: true, fmt: r3, figure: (r) => `balance.${r.c}.cv` },
    { label: 'Today max/mean', value: (r) => r.now.max_mean, num: true, fmt: r3 },
    { label: 'Today CV', value: (r) => r.now.cv, num: true, fmt: r3 },
  ], rows, { name: 'territory-balance' });
}

function applyControls(p, box) {
  if (!session.can('admin')) return null;
  const live = p.applications.filter((a) => !a.reverted_at);
  const msg = h('div', { role: 'status' });
  const act = (what) => async (e) => {
    e.preventDefault();
    const date = box.querySelector('[name="effective"]').value.trim();
    msg.replaceChildren(loading(what === 'apply' ? 'Applying…' : 'Reverting…'));
    try {
      await post(`/v1/territory-plans/${p.id}/${what}`, date ? { effective_date: date } : {});
      rerender();
    } catch (x) { msg.replaceChildren(errorBox(x)); }
  };
  return h('div', { class: 'admin-control', 'data-control': 'territory-apply' },
    h('div', { class: 'toolbar' },
      h('label', {}, 'Effective date ', h('input', { name: 'effective', placeholder: 'today', size: '10' })),
      h('button', { type: 'button', 'data-control': 'apply', onclick: act('apply') }, 'Apply to the accounts'),
      live.length ? h('button', { type: 'button', class: 'secondary', 'data-control': 'revert', onclick: act('revert') }, 'Revert the latest application') : null),
    msg);
}

function planDetail(p) {
  const tam = p.rules.find((x) => x.rule === 'max_tam_ratio');
  const box = h('div', { id: 'territory-plan', 'data-plan': p.id });
  const noPotential = p.totals.every((t) => t.potential === 0);
  box.append(h('h2', {}, `${p.name}`), h('p', { class: 'note' }, `Stored ${p.created_at}; ${p.from_accounts ? 'the workspace\'s accounts' : 'inline accounts'}; weights ${CRITERIA.map((c) => `${c} ${p.weights[c]}`).join(', ')}; disruption weight ${p.disruption_weight}. A load is a territory's total over its fair share (mean per unit of capacity × its capacity): 1.0 is exactly fair.`),
    h('div', { class: 'kpis' },
      kpi('Accounts', 'territory.accounts', p.accounts, int),
      kpi('Territories', 'territory.count', p.territories.length, int),
      kpi('Composite max/mean', 'territory.max_mean', p.balance.composite.max_mean, r3),
      kpi('Best possible (lower bound)', 'territory.lower_bound', p.lower_bound, r3),
      kpi('Composite CV', 'territory.cv', p.balance.composite.cv, r3),
      kpi('TAM max/min (rule ≤ 2)', 'territory.tam_ratio', tam ? tam.value : null, r3),
      kpi('Accounts moved', 'territory.moved', p.disruption.accounts_moved, int),
      kpi('Newly assigned', 'territory.newly_assigned', p.disruption.newly_assigned, int),
      kpi('Potential moved', 'territory.potential_moved', p.disruption.potential_moved, money),
      kpi('Pipeline moved', 'territory.pipeline_moved', p.disruption.pipeline_moved, money)),
    h('ul', { class: 'rules' }, p.rules.map((r) => h('li', { 'data-figure': `rule.${r.rule}`, 'data-value': String(r.holds), class: r.holds ? '' : 'error' },
      `${r.holds ? '✓' : '✗'} ${r.description}${r.value !== undefined && r.value !== null ? ` (${r3(r.value)})` : ''}${r.pinned !== undefined ? ` (${r.pinned} pinned)` : ''}`))),
    noPotential ? h('p', { class: 'note', 'data-note': 'no-potential' }, 'No account has a potential: the potential criterion drops out of the balance and the 2× TAM rule has nothing to compare (set accounts\' potential, or give it inline).') : '');
  const chart = bars('Composite load per territory (1.0 = its fair share)', p.totals.map((t) => ({ label: t.territory, value: t.composite, note: `${t.accounts} accounts` })),
    (v) => Number(v).toFixed(2), { reference: 1, referenceLabel: 'fair share 1.0', cls: (it) => (it.value > 1.1 ? 'down' : it.value < 0.9 ? 'under' : 'total') });
  box.append(h('section', { class: 'card', 'aria-label': 'Balance per territory' }, h('h2', {}, 'Balance per territory'), chart,
    h('p', { class: 'note' }, 'Red: more than 1.1× its fair share; amber: less than 0.9×; the dashed line is the fair share.'),
    table('Totals and loads per territory', [
      { label: 'Territory', key: 'territory' },
      { label: 'Accounts', key: 'accounts', num: true, fmt: int, figure: (r) => `totals.${r.territory}.accounts` },
      { label: 'Potential', key: 'potential', num: true, fmt: (v) => money(v), figure: (r) => `totals.${r.territory}.potential` },
      { label: 'Pipeline', key: 'pipeline', num: true, fmt: (v) => money(v), figure: (r) => `totals.${r.territory}.pipeline` },
      { label: 'Workload', key: 'workload', num: true, fmt: (v) => String(v) },
      ...CRITERIA.map((c) => ({ label: `Load: ${c}`, value: (r) => r.load[c], num: true, fmt: r3 })),
      { label: 'Composite', key: 'composite', num: true, fmt: r3, figure: (r) => `totals.${r.territory}.composite` },
    ], p.totals, { name: 'territory-totals' })),
  h('div', { class: 'grid' },
    h('section', { class: 'card', 'aria-label': 'Balance indices' }, h('h2', {}, 'Balance indices'), balanceTable(p)),
    h('section', { class: 'card', 'aria-label': 'Disruption' }, h('h2', {}, 'Disruption per territory'), table('Accounts and potential each territory gains and loses', [
      { label: 'Territory', key: 'territory' },
      { label: 'Before', key: 'before', num: true, fmt: int },
      { label: 'After', key: 'after', num: true, fmt: int },
      { label: 'Gained', key: 'gained', num: true, fmt: int, figure: (r) => `disruption.${r.territory}.gained` },
      { label: 'Lost', key: 'lost', num: true, fmt: int, figure: (r) => `disruption.${r.territory}.lost` },
      { label: 'Potential gained', key: 'potential_gained', num: true, fmt: (v) => money(v) },
      { label: 'Potential lost', key: 'potential_lost', num: true, fmt: (v) => money(v) },
    ], p.disruption.territories, { name: 'territory-disruption' }))),
  h('section', { class: 'card', 'aria-label': 'Pipeline impact' }, h('h2', {}, 'Open pipeline on accounts that change territory'),
    h('p', {}, fig('pipeline_impact.amount', p.pipeline_impact.amount, `${money(p.pipeline_impact.amount)} in ${int(p.pipeline_impact.deals)} open deals`)),
    p.pipeline_impact.items.length ? table('Deals whose territory changes (the first 50)', [
      { label: 'Deal', key: 'deal_id', fmt: (v) => h('a', { href: `#/pipeline?deal=${encodeURIComponent(v)}` }, v) },
      { label: 'Account', key: 'account_id' }, { label: 'Owner', key: 'owner' },
      { label: 'Amount', key: 'amount', num: true, fmt: (v) => money(v) },
      { label: 'From', key: 'from' }, { label: 'To', key: 'to' },
    ], p.pipeline_impact.items.slice(0, 50), { name: 'pipeline-impact' }) : null));
  const appBox = h('section', { class: 'card', 'aria-label': 'Applications' }, h('h2', {}, 'Applied to the accounts'),
    p.applications.length ? table('Each application of this plan', [
      { label: 'Applied', key: 'applied_at' }, { label: 'Effective', key: 'effective_date' },
      { label: 'Changed', key: 'changed', num: true, fmt: int, figure: (r) => `application.${r.id}.changed` },
      { label: 'Unchanged', key: 'unchanged', num: true, fmt: int }, { label: 'Skipped', key: 'skipped', num: true, fmt: int },
      { label: 'Reverted', key: 'reverted_at', fmt: (v, r) => (v ? `${v} (${r.reverted} back${r.conflicts && r.conflicts.length ? `, ${r.conflicts.length} changed since kept` : ''})` : 'no') },
    ], p.applications, { name: 'territory-applications' }) : h('p', { class: 'note' }, 'Not applied.'));
  const ctl = applyControls(p, appBox);
  if (ctl) appBox.append(ctl);
  box.append(appBox);
  return box;
}

export async function territoryPage(root, params, alive) {
  root.append(h('h1', {}, 'Territory plans'));
  const plans = (await all('/v1/territory-plans', 200)).sort((a, b) => (a.created_at < b.created_at ? 1 : -1));
  if (!alive()) return;
  if (session.can('write')) {
    const msg = h('div', { id: 'territory-create-result' });
    root.append(h('section', { class: 'card', 'aria-label': 'New plan' }, h('h2', {}, 'New plan from a document'), createForm(await defaultDocument(), msg)));
  } else {
    root.append(h('p', { class: 'note', 'data-readonly': 'territory' }, 'Creating a plan stores it: that needs a key with write access (this key reads). Applying one needs an admin key.'));
  }
  const id = params.get('plan') || (plans[0] && plans[0].id);
  root.append(h('section', { class: 'card', 'aria-label': 'Stored plans' }, h('h2', {}, 'Stored plans'),
    plans.length ? planList(plans, id) : h('p', { class: 'note' }, 'No territory plan stored yet.')));
  if (!id) return;
  const holder = h('section', { class: 'card', 'aria-label': 'Plan' }, loading());
  root.append(holder);
  try {
    const p = await get(`/v1/territory-plans/${encodeURIComponent(id)}`);
    if (!alive()) return;
    holder.replaceChildren(planDetail(p));
  } catch (x) { holder.replaceChildren(errorBox(x)); }
}
