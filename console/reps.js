// reps.js - the reps page: quota attainment for a period by rep, manager or
// team (GET /v1/attainment: quota, won, attainment, pace, projected), a chart
// of attainment against 100% with its table, and a rep's scorecard (GET
// /v1/reps/{id}/scorecard): every figure of it, each empty one with the reason
// as text, its coaching notes and deal signals, and the Markdown (and YAML)
// version one click away.
import { get, h, money, pct, ratio, int, fig, table, loading, errorBox, setParams } from './util.js';
import { periodOf } from './pages.js';
import { bars } from './bars.js';
import { periodSelect, rerender, initials } from './leads.js';

function section(title, ...content) {
  return h('section', { class: 'card', 'aria-label': title }, h('h2', {}, title), ...content);
}

const status = (s) => (s === 'on_pace' ? 'green' : s === 'behind' ? 'red' : 'none');

// A scorecard figure: the API's value; where it is null, the reason as text.
function card(label, name, value, fmt, why) {
  const text = value === null || value === undefined ? `— ${why || 'not given'}` : fmt(value);
  return h('tr', {}, h('th', { scope: 'row' }, label), h('td', { class: value === null || value === undefined ? 'note' : 'num' }, fig(name, value, text)));
}

// ---- attainment -------------------------------------------------------------

function attainmentBlock(a, onRep) {
  const T = a.total;
  const rows = a.items;
  const who = a.group_by === 'rep' ? 'Rep' : a.group_by === 'team' ? 'Team (manager)' : 'Manager';
  return h('div', {},
    h('p', { class: 'note' }, `${a.period}: ${a.period_start} to ${a.period_end}, as of ${a.as_of} (${a.as_of_rule}); ${pct(a.elapsed_share, 0)} of the period gone. `,
      `Attainment = won / quota; pace = attainment / share gone (1 is on pace); projected = won + the open deals' expected value (${a.method_used} method${a.method_note ? `: ${a.method_note}` : ''}).`),
    h('div', { class: 'kpis' },
      ...[['Quota', 'quota', money], ['Won', 'won', money], ['Attainment', 'attainment', (v) => pct(v)], ['Pace', 'pace', (v) => ratio(v, 2, '')],
        ['Projected', 'projected', money], ['Projected attainment', 'projected_attainment', (v) => pct(v)], ['New deals (forecast, no owner)', 'new_deals_forecast', money]]
        .map(([l, k, f]) => h('div', { class: 'kpi' }, h('div', { class: 'label' }, l), h('div', { class: 'value' }, fig(`att.total.${k}`, T[k], f(T[k])))))),
    h('div', { class: 'narrow' }, bars(`Attainment by ${a.group_by} (dashed: 100% of quota)`, rows.map((r) => ({ label: initials(r.key), key: r.key, value: r.attainment === null ? 0 : r.attainment * 100, note: `${r.key}, ${r.attainment === null ? 'no quota' : `${money(r.won)} of ${money(r.quota)}, ${String(r.pace_status).replace(/_/g, ' ')}`}` })),
      (v) => `${v.toFixed(0)}%`, { reference: 100, cls: (it) => (rows.find((r) => r.key === it.key).attainment >= 1 ? 'up' : 'under') })),
    table(`Attainment by ${a.group_by}${a.group_by === 'rep' ? ': a rep\'s name opens the scorecard' : ''}`, [
      { label: who, key: 'key', fmt: (v) => (a.group_by === 'rep' ? h('button', { type: 'button', class: 'secondary', 'data-rep': v, onclick: () => onRep(v) }, v) : v) },
      { label: 'Members', key: 'members', num: true, fmt: (v, r) => `${int(v)}${r.members_without_quota ? ` (${r.members_without_quota} without quota)` : ''}` },
      ...(a.group_by === 'manager' ? [{ label: 'Own quota', key: 'own_quota', num: true, fmt: (v) => money(v) }] : []),
      { label: 'Quota', key: 'quota', num: true, fmt: (v) => money(v), figure: (r) => `att.${r.key}.quota` },
      { label: 'Won', key: 'won', num: true, fmt: (v) => money(v), figure: (r) => `att.${r.key}.won` },
      { label: 'Attainment', key: 'attainment', num: true, fmt: (v) => pct(v), figure: (r) => `att.${r.key}.attainment` },
      { label: 'Expected by now', key: 'expected_to_date', num: true, fmt: (v) => money(v) },
      { label: 'Pace gap', key: 'pace_gap', num: true, fmt: (v) => money(v), figure: (r) => `att.${r.key}.pace_gap` },
      { label: 'Pace', key: 'pace', num: true, fmt: (v) => ratio(v, 2, ''), figure: (r) => `att.${r.key}.pace` },
      { label: 'Status', key: 'pace_status', fmt: (v) => h('span', { class: `badge ${status(v)}` }, String(v || 'none').replace(/_/g, ' ')) },
      { label: 'Projected', key: 'projected', num: true, fmt: (v) => money(v), figure: (r) => `att.${r.key}.projected` },
      { label: 'Projected attainment', key: 'projected_attainment', num: true, fmt: (v) => pct(v), figure: (r) => `att.${r.key}.projected_attainment` },
    ], rows, { name: 'attainment' }));
}

// ---- the scorecard ------------------------------------------------------------

const per = (v) => (Math.round(v * 10) / 10).toFixed(1);

function scorecardBlock(s, docs) {
  const A = s.activity, P = s.pipeline, E = s.efficiency;
  const noQuota = `(no ${s.period} quota for the rep: reps.quotas)`;
  const target = (k) => (A.targets && Array.isArray(A.targets[k]) ? ` (target ${A.targets[k][0]}-${A.targets[k][1]})` : ' (no target for the role)');
  const actWhy = A.reason ? `(${A.reason})` : null;
  const list = (title, items, key) => h('div', {}, h('h3', {}, title),
    items.length ? h('ul', { 'data-notes': key }, items.map((x) => h('li', {}, x))) : h('p', { class: 'note', 'data-notes': key }, 'none'));
  return h('div', {},
    h('p', { class: 'note' }, `${s.rep_name || s.rep} (${s.role || 'no role'}), ${s.period}. `, docs),
    h('div', { class: 'grid' },
      h('div', {}, h('table', { 'data-table': 'scorecard-quota' }, h('caption', {}, 'Quota and attainment'), h('tbody', {},
        card('Quota', 'card.quota', s.quota, (v) => money(v), noQuota),
        card('Won', 'card.won', s.won, (v) => money(v)),
        card('Attainment', 'card.attainment', s.attainment, (v) => pct(v), noQuota)))),
      h('div', {}, h('table', { 'data-table': 'scorecard-pipeline' }, h('caption', {}, `Pipeline (coverage as of ${P.coverage_as_of})`), h('tbody', {},
        card('Pipeline created', 'card.pipeline.created_this_period', P.created_this_period, (v) => `${money(v)} (${int(P.deals_created)} deals)`),
        card('Coverage', 'card.pipeline.coverage_ratio', P.coverage_ratio, (v) => ratio(v, 2), s.quota === null ? noQuota : '(nothing left to win: won has reached the quota)'),
        card('Average won deal', 'card.pipeline.avg_deal_size', P.avg_deal_size, (v) => money(v, 2), '(no deal won in the period)'),
        card('Win rate', 'card.pipeline.win_rate', P.win_rate, (v) => `${pct(v)} (${int(P.deals_won)} won, ${int(P.deals_lost)} lost)`, '(no deal closed, won or lost, in the period)'),
        card('Average cycle', 'card.pipeline.avg_cycle_days', P.avg_cycle_days, (v) => `${per(v)} days`, '(no deal won in the period)')))),
      h('div', {}, h('table', { 'data-table': 'scorecard-activity' }, h('caption', {}, `Activity over ${A.working_days} working days (${int(A.counts.calls)} calls, ${int(A.counts.emails)} emails, ${int(A.counts.meetings)} meetings)`), h('tbody', {},
        card(`Calls a day${target('calls_per_day')}`, 'card.activity.calls_per_day', A.calls_per_day, per, actWhy),
        card(`Emails a day${target('emails_per_day')}`, 'card.activity.emails_per_day', A.emails_per_day, per, actWhy),
        card(`Meetings booked a week${target('meetings_booked_per_week')}`, 'card.activity.meetings_booked_per_week', A.meetings_booked_per_week, per, actWhy),
        card(`Demos a week${target('demos_per_week')}`, 'card.activity.demos_per_week', A.demos_per_week, per, '(the activity API has no demo type)')))),
      h('div', {}, h('table', { 'data-table': 'scorecard-efficiency' }, h('caption', {}, `Efficiency${E.fully_loaded_cost_recorded ? '' : ' (no fully loaded cost recorded for the rep)'}`), h('tbody', {},
        card('Cost per meeting', 'card.efficiency.cost_per_meeting', E.cost_per_meeting, (v) => money(v, 2), E.reason ? `(${E.reason})` : null),
        card('Revenue per activity', 'card.efficiency.revenue_per_activity', E.revenue_per_activity, (v) => money(v, 2), E.reason ? `(${E.reason})` : null),
        card('Pipeline to close', 'card.efficiency.pipeline_to_close_ratio', E.pipeline_to_close_ratio, (v) => v, E.reason ? `(${E.reason})` : null))))),
    h('div', { class: 'grid' },
      list('Strengths', s.coaching_notes.strengths, 'strengths'),
      list('Improvement areas', s.coaching_notes.improvement_areas, 'improvement_areas'),
      list('Action items', s.coaching_notes.action_items, 'action_items')),
    h('h3', {}, `Deal signals: ${int(s.deal_signals.open_deals)} open deals closing in the period, as of ${s.deal_signals.as_of}`),
    table('Flags by kind', [
      { label: 'Flag', key: 'k', fmt: (v) => v.replace(/_/g, ' ') },
      { label: 'Deals', key: 'n', num: true, fmt: int, figure: (r) => `card.signals.${r.k}` },
    ], Object.entries(s.deal_signals.counts).map(([k, n]) => ({ k, n })), { name: 'scorecard-signal-counts' }),
    s.deal_signals.deals.length ? h('details', {}, h('summary', {}, `The ${s.deal_signals.deals.length} flagged deals`),
      table('Each flagged deal and its evidence', [
        { label: 'Deal', key: 'deal', fmt: (v) => h('a', { href: `#/pipeline?deal=${encodeURIComponent(v)}` }, v) },
        { label: 'Amount', key: 'amount', num: true, fmt: (v) => money(v, 2) },
        { label: 'Contacts engaged', key: 'contacts_engaged', num: true, fmt: int },
        { label: 'Signals', key: 'signals', fmt: (v) => v.map((x) => `${x.signal} (${x.evidence})`).join('; ') },
      ], s.deal_signals.deals, { name: 'scorecard-deals' })) : null);
}

async function scorecardSection(box, rep, period) {
  box.replaceChildren(h('h2', {}, `Scorecard: ${rep}`), loading());
  const q = `/v1/reps/${encodeURIComponent(rep)}/scorecard?period=${encodeURIComponent(period)}`;
  try {
    const s = await get(q);
    const doc = h('div', { id: 'scorecard-doc' });
    // the Markdown (or YAML) the API writes for the same scorecard, one click away
    const show = (type, what) => async (e) => {
      e.target.disabled = true;
      try {
        const text = await get(q, { accept: type });
        doc.replaceChildren(h('pre', { class: 'yaml', 'data-scorecard-doc': what, tabindex: '0' }, text));
      } catch (x) {
        doc.replaceChildren(errorBox(x));
      }
      e.target.disabled = false;
    };
    const docs = h('span', {},
      h('button', { type: 'button', class: 'secondary', 'data-control': 'scorecard-markdown', onclick: show('text/markdown', 'markdown') }, 'Markdown'), ' ',
      h('button', { type: 'button', class: 'secondary', 'data-control': 'scorecard-yaml', onclick: show('application/yaml', 'yaml') }, 'YAML'));
    box.replaceChildren(h('h2', {}, `Scorecard: ${s.rep_name || s.rep}, ${s.period}`), scorecardBlock(s, docs), doc);
  } catch (e) {
    box.replaceChildren(h('h2', {}, `Scorecard: ${rep}`), errorBox(e));
  }
}

export async function repsPage(root, params, alive) {
  const period = await periodOf(params);
  const by = params.get('group_by') || 'rep';
  root.append(h('h1', {}, 'Reps'),
    h('div', { class: 'toolbar' },
      periodSelect(period, period, (p) => { setParams({ period: p }); rerender(); }),
      h('label', {}, 'By ', h('select', { 'aria-label': 'Group by', onchange: (e) => { setParams({ group_by: e.target.value === 'rep' ? null : e.target.value }); rerender(); } },
        ['rep', 'manager', 'team'].map((v) => h('option', { value: v, selected: v === by ? true : null }, v))))));
  const attBox = section('Attainment', loading('Measuring attainment and projecting it…'));
  const cardBox = h('section', { class: 'card', 'aria-label': 'Rep scorecard', id: 'scorecard' }, h('h2', {}, 'Rep scorecard'),
    h('p', { class: 'note' }, by === 'rep' ? 'Pick a rep in the attainment table for the scorecard.' : 'Group by rep to pick a rep for the scorecard.'));
  root.append(attBox, cardBox);
  const open = (rep) => { setParams({ rep }); cardBox.scrollIntoView({ block: 'start' }); return scorecardSection(cardBox, rep, period); };
  await Promise.all([
    get(`/v1/attainment?period=${encodeURIComponent(period)}&group_by=${by}`).then((a) => {
      if (alive()) attBox.replaceChildren(h('h2', {}, `Attainment by ${by}, ${a.period}`), attainmentBlock(a, open));
    }).catch((e) => { if (alive()) attBox.replaceChildren(h('h2', {}, 'Attainment'), errorBox(e)); }),
    params.get('rep') ? scorecardSection(cardBox, params.get('rep'), period) : null,
  ]);
}
