// t_capacity.js - the capacity plan page (read key): defaults from the
// workspace, the figures on screen equal POST /v1/capacity/plan's for the
// same request, the charts carry the plan's months, a refused plan shows the
// API's detail and fields.
'use strict';
const path = require('path');
const { num, money } = require('./tab.js');

module.exports = async function capacity({ t, api, check, OUT }) {
  await t.signIn('read');
  await t.open('capacity');
  check(t.problems.length === 0, `capacity (read) loads clean: ${t.problems.join('; ')}`);
  await t.page.screenshot({ path: path.join(OUT, 'capacity-read.png'), fullPage: true });

  // the defaults come from the workspace: the fiscal year after the latest
  // period with data, the reps' quotas of the latest fiscal year
  const ws = (await api.get('/v1/workspace', 'read')).body;
  const period = (await api.get('/v1/dashboard', 'read')).body.period;
  const last = Number(period.slice(0, 4));
  const fsm = ws.fiscal_year_start_month;
  const fys = fsm === 1 ? `${last + 1}-01-01` : `${last}-${String(fsm).padStart(2, '0')}-01`;
  const reps = [];
  for (let cursor = null, first = true; first || cursor; first = false) {
    const pg = (await api.get(`/v1/reps?limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, 'read')).body;
    reps.push(...pg.items);
    cursor = pg.next_cursor;
  }
  const qs = reps.filter((r) => r.role === null || r.role === 'ae').map((r) => [1, 2, 3, 4].map((i) => r.quotas[`${last}-Q${i}`]))
    .filter((q) => q.every((v) => typeof v === 'number')).map((q) => q.reduce((a, b) => a + b, 0));
  check(qs.length > 0, `the demo's reps have ${last} quotas (${qs.length})`);
  const val = (n) => t.page.$eval(`form[data-control="capacity-form"] [name="${n}"]`, (e) => e.value);
  check(await val('fys') === fys, `capacity: fiscal year start defaults to ${fys} (${await val('fys')})`);
  const sum = qs.reduce((a, b) => a + b, 0);
  check(Number(await val('quota')) === Math.round(sum / qs.length), `capacity: quota per AE defaults to the mean ${last} quota (${await val('quota')})`);
  check(Number(await val('target')) === Math.round(sum * 100) / 100, `capacity: target defaults to the ${last} quotas' total (${await val('target')})`);

  // the same request, asked by the test: every figure on screen is the API's
  const req = JSON.parse(await t.page.$eval('pre[data-capacity-request]', (e) => e.textContent));
  check(req.from_reps === true && req.attainment === '70%', `capacity: the default request plans the workspace's AEs at 70% (${JSON.stringify(req)})`);
  const r = await api.post('/v1/capacity/plan', req, 'read');
  check(r.status === 200, `capacity: the API plans the page's request (HTTP ${r.status})`);
  const p = r.body;
  const f = await t.figures();
  for (const k of ['required_aes', 'seats_for_required_aes', 'capacity_before', 'gap_before', 'hires_needed', 'capacity', 'gap', 'shortfall']) {
    const x = f[`capacity.${k}`];
    check(x && num(x.value) === p[k], `capacity ${k}: screen ${x && x.value}, API ${p[k]}`);
  }
  check(f['capacity.capacity'] && f['capacity.capacity'].text === money(p.capacity), `capacity shown as ${f['capacity.capacity'] && f['capacity.capacity'].text}`);
  check(f['capacity.closable'] && f['capacity.closable'].value === String(p.closable), 'capacity: closable as the API');
  let months = 0;
  for (const m of p.monthly) {
    for (const k of ['hires', 'capacity', 'cumulative', 'ramped_equivalent']) {
      const x = f[`capacity.month.${m.month}.${k}`];
      check(x && num(x.value) === m[k], `capacity ${m.month} ${k}: screen ${x && x.value}, API ${m[k]}`);
    }
    months++;
  }
  check(months === 12, `capacity: 12 months compared (${months})`);
  check(p.hires_needed > 0, `capacity: the demo's plan hires (${p.hires_needed})`);
  const qh = [1, 2, 3, 4].map((i) => f[`capacity.quarter.Q${i}.hires`]);
  check(qh.every(Boolean) && qh.reduce((a, x) => a + num(x.value), 0) === p.hires_needed, 'capacity: the quarters\' hires add up to hires_needed');
  const bars = await t.page.$$eval('#capacity-result svg.chart .bar', (els) => els.map((e) => e.getAttribute('aria-label')));
  check(bars.length === 12 && bars.every((b, i) => b.startsWith(`${p.monthly[i].month.slice(2)}: ${p.monthly[i].hires}`)), `capacity: a bar per month with its hires (${bars[0]})`);
  check(await t.page.$$eval('#capacity-result .uplot', (els) => els.length) === 2, 'capacity: the capacity and ramp charts are drawn');

  // keyboard: Tab to the hires chart, arrows step through its months
  await t.page.evaluate(() => document.querySelector('#capacity-result svg.chart .bar').focus());
  await t.page.keyboard.press('ArrowRight');
  const focused = await t.page.evaluate(() => document.activeElement.getAttribute('aria-label'));
  check(focused === bars[1], `capacity: arrow keys move along the hires (${focused})`);

  // bad input: the API's problem on screen, detail and fields
  await t.page.$eval('form[data-control="capacity-form"] [name="attainment"]', (e) => { e.value = '0'; });
  await t.page.$eval('form[data-control="capacity-form"] [name="ramp"]', (e) => { e.value = '0, 150'; });
  t.problems.length = 0;
  await t.page.click('form[data-control="capacity-form"] button[type=submit]');
  const shown = await t.problem('#capacity-result');
  const bad = await api.post('/v1/capacity/plan', { ...req, attainment: '0%', ramp: ['0%', '150%'] }, 'read');
  check(bad.status === 422 && shown.status === '422', `capacity: bad input is a 422 (API ${bad.status}, screen ${shown.status})`);
  check(shown.detail === `${bad.body.detail} (HTTP 422)`, `capacity: the problem's detail on screen (${shown.detail})`);
  const want = (bad.body.errors || []).map((e) => e.field).sort();
  check(want.length > 0 && JSON.stringify(shown.fields.sort()) === JSON.stringify(want), `capacity: the offending fields on screen (${shown.fields} vs ${want})`);
  await t.page.screenshot({ path: path.join(OUT, 'capacity-error.png'), fullPage: true });
};
