// t_hygiene.js - the data hygiene page (read key): each rule's value,
// status, offending and population equal GET /v1/hygiene's, the status is
// drawn in its colour, an unmeasured rule shows its reason; a rule opened
// from the keyboard lists the records of GET /v1/hygiene/{rule}, page by page
// as the API pages them; an unknown rule shows the API's problem detail.
'use strict';
const path = require('path');
const { num } = require('./tab.js');

module.exports = async function hygiene({ t, api, check, OUT }) {
  await t.signIn('read');
  // the sign-in lands on the forecast call, whose trend is a costly request of the same key:
  // let it finish so that the hygiene request (costly too, one per key) is not queued behind it
  await t.page.waitForNetworkIdle({ idleTime: 500, timeout: 180000 }).catch(() => {});
  await t.open('hygiene');
  check(t.problems.length === 0, `hygiene (read) loads clean: ${t.problems.join('; ')}`);
  const d = (await api.get('/v1/hygiene', 'read')).body;
  const f = await t.figures();
  for (const k of ['green', 'yellow', 'red']) check(f[`hygiene.${k}`] && num(f[`hygiene.${k}`].value) === d.summary[k], `hygiene summary ${k}: screen ${f[`hygiene.${k}`] && f[`hygiene.${k}`].value}, API ${d.summary[k]}`);
  const colour = { green: 'rgb(30, 125, 58)', yellow: 'rgb(154, 107, 0)', red: 'rgb(179, 38, 30)', unknown: 'rgb(107, 114, 128)' };
  for (const r of d.rules) {
    for (const k of ['value', 'offending', 'population']) {
      const x = f[`hygiene.${r.id}.${k}`];
      check(x && num(x.value) === r[k], `hygiene ${r.id} ${k}: screen ${x && x.value}, API ${r[k]}`);
    }
    const st = f[`hygiene.${r.id}.status`];
    check(st && st.value === r.status, `hygiene ${r.id} status: screen ${st && st.value}, API ${r.status}`);
    const bg = await t.page.$eval(`[data-figure="hygiene.${r.id}.status"] .badge`, (e) => getComputedStyle(e).backgroundColor);
    check(bg === colour[r.status], `hygiene ${r.id}: ${r.status} drawn in its colour (${bg})`);
    const note = await t.page.$eval(`[data-note="${r.id}"]`, (e) => e.textContent);
    check(r.reason ? note === r.reason : note.startsWith(`${new Intl.NumberFormat('en-US').format(r.offending)} of ${new Intl.NumberFormat('en-US').format(r.population)} ${r.population_of}`), `hygiene ${r.id} note: ${note}`);
  }
  check(d.rules.length === 7 && d.rules.some((r) => r.status === 'red'), `hygiene: the demo has 7 rules, some red (${d.rules.map((r) => r.status)})`);
  await t.page.screenshot({ path: path.join(OUT, 'hygiene-read.png'), fullPage: true });

  // the rule with the most offending records, opened from the keyboard, paged as the API pages
  const rule = d.rules.filter((r) => r.offending).sort((a, b) => b.offending - a.offending)[0];
  await t.page.focus(`[data-rule="${rule.id}"]`);
  await t.page.keyboard.press('Enter');
  await t.page.waitForSelector('table[data-table="hygiene-records"]', { timeout: 120000 });
  const first = (await api.get(`/v1/hygiene/${rule.id}?limit=50`, 'read')).body;
  const rows = () => t.page.$$eval('table[data-table="hygiene-records"] tbody tr', (trs) => trs.map((tr) => tr.children[0].textContent));
  const key = (it) => String(it.deal_id || it.account_id || it.lead_id || it.id || it.name);
  check(JSON.stringify(await rows()) === JSON.stringify(first.items.map(key)), `hygiene ${rule.id}: the first page is the API's (${first.items.length})`);
  const rf = await t.figures();
  check(rf['rule.offending'] && num(rf['rule.offending'].value) === first.offending, `hygiene ${rule.id}: offending ${first.offending} on the records' page`);
  check(first.next_cursor !== null, `hygiene ${rule.id}: more than one page (${rule.offending} records)`);
  const second = (await api.get(`/v1/hygiene/${rule.id}?limit=50&cursor=${encodeURIComponent(first.next_cursor)}`, 'read')).body;
  await t.page.click('[data-control="hygiene-next"]');
  await t.page.waitForFunction((k) => { const c = document.querySelector('table[data-table="hygiene-records"] tbody tr td'); return c && c.textContent === k; }, { timeout: 120000 }, key(second.items[0]));
  check(JSON.stringify(await rows()) === JSON.stringify(second.items.map(key)), `hygiene ${rule.id}: Next page is the API's second page`);
  await t.page.click('[data-control="hygiene-prev"]');
  await t.page.waitForFunction((k) => { const c = document.querySelector('table[data-table="hygiene-records"] tbody tr td'); return c && c.textContent === k; }, { timeout: 120000 }, key(first.items[0]));
  check(JSON.stringify(await rows()) === JSON.stringify(first.items.map(key)), `hygiene ${rule.id}: Previous page goes back`);
  check(t.page.url().includes(`rule=${rule.id}`), 'hygiene: the rule opened is in the URL');
  await t.page.screenshot({ path: path.join(OUT, 'hygiene-records.png'), fullPage: true });

  // a rule's page carries its reason when it measured nothing (and none when it did); an
  // unknown rule shows the API's 404
  for (const r of [d.rules.find((x) => x.reason), rule].filter(Boolean)) {
    await t.open('hygiene', `?rule=${r.id}`);
    const why = await t.page.$eval('#hygiene-rule [data-rule-reason]', (e) => e.textContent).catch(() => null);
    check(why === r.reason, `hygiene ${r.id}: its reason on its page (${why}, API ${r.reason})`);
  }
  await t.open('hygiene', '?rule=no_such_rule');
  const shown = await t.problem('#hygiene-rule');
  const bad = await api.get('/v1/hygiene/no_such_rule', 'read');
  check(bad.status === 404 && shown.status === '404' && shown.detail === `${bad.body.detail} (HTTP 404)`, `hygiene: an unknown rule shows the API's 404 (${shown.detail})`);
};
