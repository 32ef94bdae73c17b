// alerts.js - the alerts page (issue 23): the alert feed (GET /v1/alerts),
// the rules (GET /v1/alert-rules; admins create one, and see its secrets
// once, and delete one) and the delivery log with replay for write keys
// (GET /v1/alert-deliveries, POST .../replay). docs/alerts.md.
import { session, api, get, post, h, table, errorBox } from './util.js';

const KINDS = [
  ['stale_deal', 'Stale deal (no activity for N days)', 'days', 14],
  ['deal_pushed', 'Deal pushed past its quarter', 'min_pushes', 1],
  ['deal_moved_back', 'Deal moved back a stage', null, null],
  ['amount_change', 'Amount changed by at least a share', 'change', 0.2],
  ['routing_escalation', 'Routing escalation', null, null],
  ['renewal_due', 'Renewal due (90 / 60 / 30 days)', null, null],
  ['sla_breach', 'Lead SLA breached', null, null],
  ['webhook_lag', 'Inbound webhook lag above N seconds', 'seconds', 60],
  ['coverage_below', 'Pipeline coverage below N x', 'min', 3],
  ['hygiene_red', 'A data hygiene rule turning red (checked every N minutes)', 'every_minutes', 60],
  ['account_at_risk', 'Account at risk (health watch or worse)', null, null],
  ['expansion_signal', 'Expansion signal on an account', null, null],
  ['forecast_moved', 'Forecast moved more than N% week over week', 'pct', 10],
  ['health_colour', 'A dashboard health signal changing colour (checked every N minutes)', 'every_minutes', 60],
];

function section(title, ...content) {
  return h('section', { class: 'card', 'aria-label': title }, h('h2', {}, title), ...content);
}

const short = (v) => (v || '').slice(0, 8);
const when = (v) => (v ? String(v).replace('T', ' ').replace(/:\d\dZ$/, 'Z') : '—');

function ruleForm(onDone) {
  const msg = h('div', { role: 'status' });
  const kind = h('select', { name: 'kind' }, KINDS.map(([k, label]) => h('option', { value: k }, label)));
  const param = h('input', { name: 'param', type: 'number', step: 'any', min: '0', value: '14', 'aria-label': 'Parameter' });
  kind.addEventListener('change', () => {
    const k = KINDS.find((x) => x[0] === kind.value);
    param.disabled = !k[2];
    param.value = k[3] === null ? '' : String(k[3]);
  });
  const form = h('form', { class: 'toolbar admin-control', 'data-control': 'alert-rule-create', onsubmit: async (e) => {
    e.preventDefault();
    const f = e.target;
    const k = KINDS.find((x) => x[0] === f.kind.value);
    const doc = { name: f.rname.value.trim() || k[1], kind: k[0] };
    if (k[2] && f.param.value.trim() !== '') doc.params = { [k[2]]: Number(f.param.value) };
    const owners = f.owner.value.split(',').map((x) => x.trim()).filter((x) => x);
    if (owners.length) doc.filter = { owner: owners };
    if (f.url.value.trim()) doc.destinations = [{ url: f.url.value.trim() }];
    try {
      const rule = await post('/v1/alert-rules', doc);
      const secrets = rule.destinations.filter((d) => d.secret);
      msg.replaceChildren(h('p', {}, `Rule "${rule.name}" created.`),
        ...secrets.map((d) => h('p', {}, 'Signing secret of its destination (copy it now, it is not shown again): ', h('code', {}, d.secret))));
      onDone();
    } catch (x) { msg.replaceChildren(errorBox(x)); }
  } },
  h('label', {}, 'Name ', h('input', { name: 'rname' })),
  h('label', {}, 'Signal ', kind),
  h('label', {}, 'Parameter ', param),
  h('label', {}, 'Owners (comma-separated) ', h('input', { name: 'owner', spellcheck: 'false' })),
  h('label', {}, 'Webhook URL ', h('input', { name: 'url', type: 'url', spellcheck: 'false' })),
  h('button', { type: 'submit' }, 'Create rule'));
  return [form, msg];
}

export async function alertsPage(root, params, alive) {
  root.append(h('h1', {}, 'Alerts'));
  const [alerts, rules, deliveries] = await Promise.all([
    get('/v1/alerts?limit=100'), get('/v1/alert-rules?limit=200'), get('/v1/alert-deliveries?limit=50')]);
  if (!alive()) return;
  root.append(section('Alert feed', alerts.items.length ? table('The latest alerts, newest first', [
    { label: 'Raised', key: 'raised_at', fmt: when },
    { label: 'Signal', key: 'kind' },
    { label: 'About', value: (a) => a.deal_id || a.account_id || a.lead_id },
    { label: 'Owner', key: 'rep_id' },
    { label: 'What happened', key: 'summary' },
  ], alerts.items, { name: 'alerts' }) : h('p', { class: 'note' }, 'No alert raised yet.')));

  const ruleBox = section('Rules', rules.items.length ? table('What is watched, and where it is sent', [
    { label: 'Name', key: 'name' },
    { label: 'Signal', key: 'kind' },
    { label: 'Parameters', value: (r) => JSON.stringify(r.params) },
    { label: 'Filter', value: (r) => (Object.keys(r.filter).length ? JSON.stringify(r.filter) : 'all') },
    { label: 'Destinations', value: (r) => r.destinations.map((d) => `${d.url}${d.disabled_at ? ' (disabled)' : ''}`).join(', ') || 'none' },
    { label: 'Enabled', key: 'enabled', fmt: (v) => (v ? 'yes' : 'no') },
    { label: 'Version', key: 'version', num: true },
    // admins delete a rule: the first click asks, the second deletes (DELETE /v1/alert-rules/{id})
    ...(session.can('admin') ? [{ label: '', value: (r) => r, fmt: (r) => h('button', { type: 'button', class: 'secondary admin-control', 'data-control': 'alert-rule-delete', onclick: async (e) => {
      const b = e.target;
      if (!b.dataset.armed) { b.dataset.armed = '1'; b.textContent = `Delete "${r.name}"?`; return; }
      b.disabled = true;
      try { await api('DELETE', `/v1/alert-rules/${r.id}`); b.textContent = 'Deleted'; } catch (x) { b.replaceWith(errorBox(x)); }
    } }, 'Delete') }] : []),
  ], rules.items, { name: 'alert-rules' }) : h('p', { class: 'note' }, 'No rule yet.'));
  if (session.can('admin')) {
    const again = () => window.dispatchEvent(new HashChangeEvent('hashchange'));
    ruleBox.append(...ruleForm(() => setTimeout(again, 4000)));
    ruleBox.append(h('p', {}, h('button', { type: 'button', class: 'secondary admin-control', 'data-control': 'alert-evaluate', onclick: async (e) => {
      e.target.disabled = true;
      const r = await post('/v1/alerts/evaluate', {});
      e.target.textContent = `Evaluated ${r.rules} rule(s): ${r.raised} raised, ${r.cleared} cleared`;
    } }, 'Evaluate now')));
  }
  root.append(ruleBox);

  root.append(section('Deliveries', deliveries.items.length ? table('Signed webhook deliveries, newest first', [
    { label: 'Created', key: 'created_at', fmt: when },
    { label: 'Alert', key: 'alert_id', fmt: short },
    { label: 'Destination', key: 'url' },
    { label: 'State', key: 'state' },
    { label: 'Attempts', key: 'attempts', num: true },
    { label: 'Last answer', value: (d) => d.last_status, fmt: (v, d) => (v ? String(v) : d.last_error || '—') },
    { label: 'Next attempt', key: 'next_attempt_at', fmt: when },
    ...(session.can('write') ? [{ label: '', value: (d) => d, fmt: (d) => (d.state === 'delivered' || d.state === 'failed'
      ? h('button', { type: 'button', class: 'secondary write-control', 'data-control': 'alert-replay', onclick: async (e) => {
        e.target.disabled = true;
        try { await post(`/v1/alert-deliveries/${d.id}/replay`, {}); e.target.textContent = 'Sent again'; } catch (x) { e.target.replaceWith(errorBox(x)); }
      } }, 'Replay') : '') }] : []),
  ], deliveries.items, { name: 'alert-deliveries' }) : h('p', { class: 'note' }, 'No delivery yet.')));
}
