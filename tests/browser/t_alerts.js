// t_alerts.js - the alerts page: an admin sees every signal kind the API
// takes in the rule form (the API's kinds from openapi.yaml's enum), and
// deletes a rule with two clicks (the first asks); the rule is then gone from
// GET /v1/alert-rules. A read key sees the rules without those controls.
'use strict';
const fs = require('fs');
const path = require('path');

module.exports = async function alerts({ t, api, check, OUT }) {
  const made = await api.post('/v1/alert-rules', { name: 'browser delete me', kind: 'forecast_moved', params: { pct: 15 } });
  check(made.status === 201, `alerts: a rule to delete created (${made.status})`);
  const id = made.body.id;

  await t.signIn('read');
  await t.open('alerts');
  check(t.problems.length === 0, `alerts (read) loads clean: ${t.problems.join('; ')}`);
  check((await t.page.$$('[data-control="alert-rule-delete"]')).length === 0, 'alerts (read): no delete control');

  await t.signIn('admin');
  await t.open('alerts');
  check(t.problems.length === 0, `alerts (admin) loads clean: ${t.problems.join('; ')}`);
  // every kind of openapi.yaml's AlertRule kind enum is offered, and nothing else
  const spec = fs.readFileSync(path.join(__dirname, '..', '..', 'openapi.yaml'), 'utf8');
  const m = spec.match(/kind: \{type: string, enum: \[(stale_deal[^\]]*)\]/);
  const want = m ? m[1].split(',').map((x) => x.trim()).sort() : [];
  const offered = (await t.page.$$eval('select[name="kind"] option', (os) => os.map((o) => o.value))).sort();
  check(want.length >= 14 && JSON.stringify(offered) === JSON.stringify(want), `alerts: the form offers the API's ${want.length} kinds (${offered.join(',')})`);

  const sel = `button[data-control="alert-rule-delete"]`;
  const buttons = await t.page.$$(sel);
  const rules = (await api.get('/v1/alert-rules?limit=200')).body.items;
  const k = rules.findIndex((r) => r.id === id);
  check(k >= 0 && buttons.length === rules.length, `alerts: a delete button per rule (${buttons.length} of ${rules.length})`);
  if (k >= 0 && buttons[k]) {
    await buttons[k].click();
    const asked = await t.page.evaluate((b) => b.textContent, buttons[k]);
    check(asked === 'Delete "browser delete me"?', `alerts: the first click asks (${asked})`);
    check((await api.get(`/v1/alert-rules/${id}`)).status === 200, 'alerts: nothing deleted on the first click');
    await buttons[k].click();
    await t.page.waitForFunction((b) => b.textContent === 'Deleted' || !b.isConnected, {}, buttons[k]);
    check((await api.get(`/v1/alert-rules/${id}`)).status === 404, 'alerts: the second click deleted the rule (404 after)');
  }
  check(t.problems.length === 0, `alerts (admin) after delete: ${t.problems.join('; ')}`);
  await t.page.screenshot({ path: path.join(OUT, 'alerts-admin.png'), fullPage: true });
};
