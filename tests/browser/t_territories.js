// t_territories.js - the territory plan page: a write key creates a plan from
// the default document (the workspace's accounts, one territory per AE) and
// sees the API's balance per territory; a refused document shows the API's
// detail; a read key sees the plan but no control that writes (and the API
// refuses its create); an admin applies and reverts it.
'use strict';
const path = require('path');
const { num, money } = require('./tab.js');

module.exports = async function territories({ t, api, check, OUT }) {
  const page = t.page;
  await t.signIn('write');
  await t.open('territories');
  check(t.problems.length === 0, `territories (write) loads clean: ${t.problems.join('; ')}`);
  const doc = JSON.parse(await page.$eval('form[data-control="territory-create"] textarea', (e) => e.value));
  const reps = (await api.get('/v1/reps?limit=200', 'read')).body.items.filter((r) => r.role === null || r.role === 'ae');
  check(doc.from_accounts === true && doc.territories === reps.length, `territories: the default document balances the accounts into one territory per AE (${doc.territories}, ${reps.length} AEs)`);

  // a refused document: the API's problem on screen
  const bad = { name: '', territories: 0, from_accounts: true };
  await page.$eval('form[data-control="territory-create"] textarea', (e, v) => { e.value = v; }, JSON.stringify(bad));
  await page.click('form[data-control="territory-create"] button[type=submit]');
  const shown = await t.problem('#territory-create-result');
  const refused = await api.post('/v1/territory-plans', bad, 'write');
  check(refused.status === 422 && shown.status === '422' && shown.detail === `${refused.body.detail} (HTTP 422)`, `territories: a bad document shows the API's detail (${shown.detail})`);
  const want = (refused.body.errors || []).map((e) => e.field).sort();
  check(want.length > 0 && JSON.stringify(shown.fields.sort()) === JSON.stringify(want), `territories: the offending fields on screen (${shown.fields} vs ${want})`);
  check((await api.get('/v1/territory-plans', 'read')).body.items.length === 0, 'territories: nothing stored by the refused document');

  // the default document, created from the page
  await page.$eval('form[data-control="territory-create"] textarea', (e, v) => { e.value = v; }, JSON.stringify(doc, null, 2));
  t.problems.length = 0;
  await page.click('form[data-control="territory-create"] button[type=submit]');
  await page.waitForSelector('[data-page="territories"][data-ready="true"] #territory-plan', { timeout: 180000 });
  check(t.problems.length === 0, `territories: creating a plan is clean: ${t.problems.join('; ')}`);
  const id = await page.$eval('#territory-plan', (e) => e.dataset.plan);
  const got = await api.get(`/v1/territory-plans/${id}`, 'read');
  check(got.status === 200, `territories: the plan created from the page is stored (${id})`);
  const p = got.body;
  const compare = async (who) => {
    const f = await t.figures();
    const tam = p.rules.find((r) => r.rule === 'max_tam_ratio');
    const top = { max_mean: p.balance.composite.max_mean, lower_bound: p.lower_bound, cv: p.balance.composite.cv, tam_ratio: tam ? tam.value : null,
      moved: p.disruption.accounts_moved, newly_assigned: p.disruption.newly_assigned, potential_moved: p.disruption.potential_moved,
      pipeline_moved: p.disruption.pipeline_moved, accounts: p.accounts, count: p.territories.length };
    for (const [k, v] of Object.entries(top)) check(f[`territory.${k}`] && num(f[`territory.${k}`].value) === v, `territories (${who}) ${k}: screen ${f[`territory.${k}`] && f[`territory.${k}`].value}, API ${v}`);
    let n = 0;
    for (const tt of p.totals) {
      for (const k of ['accounts', 'potential', 'pipeline', 'composite']) {
        const x = f[`totals.${tt.territory}.${k}`];
        check(x && num(x.value) === tt[k], `territories (${who}) ${tt.territory} ${k}: screen ${x && x.value}, API ${tt[k]}`);
      }
      n++;
    }
    check(n === doc.territories, `territories (${who}): ${n} territories compared`);
    for (const c of ['accounts', 'potential', 'pipeline', 'workload', 'composite']) {
      for (const k of ['max_mean', 'max_min', 'cv']) check(f[`balance.${c}.${k}`] && num(f[`balance.${c}.${k}`].value) === p.balance[c][k], `territories (${who}) balance ${c} ${k} as the API`);
    }
    for (const m of p.disruption.territories) check(f[`disruption.${m.territory}.gained`] && num(f[`disruption.${m.territory}.gained`].value) === m.gained, `territories (${who}) ${m.territory} gained as the API`);
    for (const r of p.rules) check(f[`rule.${r.rule}`] && f[`rule.${r.rule}`].value === String(r.holds), `territories (${who}) rule ${r.rule} as the API`);
    check(f['pipeline_impact.amount'] && num(f['pipeline_impact.amount'].value) === p.pipeline_impact.amount && f['pipeline_impact.amount'].text.startsWith(money(p.pipeline_impact.amount)), `territories (${who}) pipeline impact as the API`);
    const labels = await page.$$eval('#territory-plan svg.chart .bar', (els) => els.map((e) => e.getAttribute('aria-label')));
    check(labels.length === p.totals.length && labels.every((l, i) => l.startsWith(`${p.totals[i].territory}: ${p.totals[i].composite.toFixed(2)}`)), `territories (${who}): a bar per territory with its composite load (${labels[0]})`);
  };
  await compare('write');
  const noPotential = p.totals.every((x) => x.potential === 0);
  check((await page.$('[data-note="no-potential"]') !== null) === noPotential, `territories: the page says when no account has a potential (${noPotential})`);
  check(await page.$('[data-control="territory-apply"]') === null, 'territories: a write key sees no apply (admin only)');
  await page.screenshot({ path: path.join(OUT, 'territories-write.png'), fullPage: true });

  // a read key: the same figures, no control that writes; the API refuses its create
  await t.signIn('read');
  await t.open('territories');
  check(t.problems.length === 0, `territories (read) loads clean: ${t.problems.join('; ')}`);
  await compare('read');
  check(await page.$('[data-control="territory-create"], [data-control="territory-apply"], .write-control, .admin-control') === null, 'territories: a read key sees no create or apply');
  check(await page.$('[data-readonly="territory"]') !== null, 'territories: a read key is told why it cannot create');
  const ro = await api.post('/v1/territory-plans', doc, 'read');
  check(ro.status === 403, `territories: the API refuses a read key's plan (HTTP ${ro.status})`);
  await page.screenshot({ path: path.join(OUT, 'territories-read.png'), fullPage: true });

  // an admin applies the plan to the accounts and reverts it
  await t.signIn('admin');
  await t.open('territories', `?plan=${id}`);
  check(await page.$('[data-control="apply"]') !== null && await page.$('[data-control="revert"]') === null, 'territories: an admin can apply (nothing to revert yet)');
  await page.click('[data-control="apply"]');
  await page.waitForSelector('[data-page="territories"][data-ready="true"] [data-control="revert"]', { timeout: 60000 });
  const applied = (await api.get(`/v1/territory-plans/${id}`, 'read')).body.applications;
  const f1 = await t.figures();
  check(applied.length === 1 && f1[`application.${applied[0].id}.changed`] && num(f1[`application.${applied[0].id}.changed`].value) === applied[0].changed, `territories: the application on screen is the API's (${applied.length && applied[0].changed} changed)`);
  check(applied.length === 1 && applied[0].changed > 0, 'territories: applying wrote territories onto the accounts');
  await page.click('[data-control="revert"]');
  await page.waitForFunction(() => document.querySelector('[data-page="territories"][data-ready="true"]') && !document.querySelector('[data-control="revert"]'), { timeout: 60000 });
  const reverted = (await api.get(`/v1/territory-plans/${id}`, 'read')).body.applications;
  check(reverted.length === 1 && reverted[0].reverted_at !== null && reverted[0].reverted === applied[0].changed, `territories: reverted (${reverted[0] && reverted[0].reverted} back)`);
  await page.screenshot({ path: path.join(OUT, 'territories-admin.png'), fullPage: true });
};
