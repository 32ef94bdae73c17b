// t_leads.js - the leads page (read key): the period's days are the API's
// (GET /v1/attainment names them), the funnel's counts and rates, the SLAs'
// met/breached/pending and response minutes, the lead list's pages and a
// lead's score signal by signal all equal the API's for the same calls; the
// list pages with Previous/Next and filters by stage; a lead opens from the
// keyboard; an unknown lead shows the API's problem detail.
'use strict';
const path = require('path');
const { num } = require('./tab.js');

module.exports = async function leads({ t, api, check, OUT }) {
  await t.signIn('read');
  await t.open('leads');
  check(t.problems.length === 0, `leads (read) loads clean: ${t.problems.join('; ')}`);
  await t.page.screenshot({ path: path.join(OUT, 'leads-read.png'), fullPage: true });

  // the days of the default period, as the server reads the label
  const period = (await api.get('/v1/dashboard', 'read')).body.period;
  const att = (await api.get(`/v1/attainment?period=${period}`, 'read')).body;
  const from = att.period_start, to = att.period_end;
  const note = await t.page.$eval('[data-page="leads"] .toolbar .note', (e) => e.textContent);
  check(note === `${from} to ${to}`, `leads: ${period} is ${from} to ${to} (screen: ${note})`);

  // the funnel: every stage's count, every transition's rate and tier, the sentence
  const fn = (await api.get(`/v1/leads/funnel?from=${from}&to=${to}`, 'read')).body;
  const g = fn.groups[0];
  check(!!g && g.counts.mql > 0, `leads: the demo has an MQL cohort in ${period} (${g && g.counts.mql})`);
  let f = await t.figures();
  for (const [k, v] of Object.entries(g.counts)) check(f[`leads.count.${k}`] && num(f[`leads.count.${k}`].value) === v, `leads count ${k}: screen ${f[`leads.count.${k}`] && f[`leads.count.${k}`].value}, API ${v}`);
  for (const tr of g.transitions) {
    const r = f[`leads.rate.${tr.from}.${tr.to}`], tier = f[`leads.tier.${tr.from}.${tr.to}`];
    check(r && num(r.value) === tr.rate && r.text === (tr.rate === null ? '—' : `${(tr.rate * 100).toFixed(1)}%`), `leads rate ${tr.from}→${tr.to}: screen ${r && r.value} (${r && r.text}), API ${tr.rate}`);
    check(tier && tier.value === String(tr.tier), `leads tier ${tr.from}→${tr.to}: screen ${tier && tier.value}, API ${tr.tier}`);
  }
  check(f['leads.summary'] && f['leads.summary'].text === g.summary, 'leads: the bottleneck sentence is the API\'s');
  const marks = await t.page.$$eval('[data-page="leads"] svg.chart .bar', (els) => els.map((e) => e.getAttribute('aria-label')));
  check(marks.length > 0 && marks[0].startsWith(`mql: ${g.counts.mql}`), `leads: the funnel chart starts at the MQLs (${marks[0]})`);
  await t.page.evaluate(() => document.querySelector('[data-page="leads"] svg.chart .bar').focus());
  await t.page.keyboard.press('ArrowDown');
  const focused = await t.page.evaluate(() => document.activeElement.getAttribute('aria-label'));
  check(focused === marks[1], `leads: arrow keys step down the funnel (${focused})`);

  // SLA compliance: every group's figures, and a reason where a time is empty
  const sla = (await api.get(`/v1/sla/compliance?from=${from}&to=${to}&group_by=sla`, 'read')).body;
  check(sla.groups.length >= 4, `leads: the four SLAs are measured (${sla.groups.map((x) => x.key)})`);
  for (const s of sla.groups) {
    for (const k of ['total', 'met', 'breached', 'pending', 'share_met', 'median_minutes', 'p90_minutes']) {
      const x = f[`sla.${s.key}.${k}`];
      check(x && num(x.value) === s[k], `sla ${s.key} ${k}: screen ${x && x.value}, API ${s[k]}`);
    }
    const med = f[`sla.${s.key}.median_minutes`];
    if (med) check(s.median_minutes === null ? /no response|nothing/.test(med.text) : med.text.startsWith(`${s.median_minutes.toFixed(1)} min`), `sla ${s.key}: median shown as ${med.text}`);
  }
  const summary = await t.page.$eval('[data-page="leads"] details summary', (e) => e.textContent);
  check(summary.includes(new Intl.NumberFormat('en-US').format(sla.breaches_total)), `leads: the breaches' total is shown (${summary})`);
  const shownBreaches = await t.page.$$eval('table[data-table="sla-breaches"] tbody tr', (rows) => rows.map((r) => r.children[1].textContent));
  check(JSON.stringify(shownBreaches) === JSON.stringify(sla.breaches.map((b) => b.subject)), `leads: the breaches listed are the API's (${shownBreaches.length})`);

  // the lead list, page by page, as the API pages it
  const ids = () => t.page.$$eval('table[data-table="leads"] tbody tr [data-lead]', (els) => els.map((e) => e.dataset.lead));
  const p1 = (await api.get('/v1/leads?limit=25', 'read')).body;
  check(JSON.stringify(await ids()) === JSON.stringify(p1.items.map((x) => x.id)), 'leads: the first page is the API\'s');
  const p2 = (await api.get(`/v1/leads?limit=25&cursor=${encodeURIComponent(p1.next_cursor)}`, 'read')).body;
  await t.page.click('[data-control="leads-next"]');
  await t.page.waitForFunction((first) => { const b = document.querySelector('table[data-table="leads"] tbody [data-lead]'); return b && b.dataset.lead === first; }, { timeout: 60000 }, p2.items[0].id);
  check(JSON.stringify(await ids()) === JSON.stringify(p2.items.map((x) => x.id)), 'leads: Next page shows the API\'s second page');
  await t.page.click('[data-control="leads-prev"]');
  await t.page.waitForFunction((first) => { const b = document.querySelector('table[data-table="leads"] tbody [data-lead]'); return b && b.dataset.lead === first; }, { timeout: 60000 }, p1.items[0].id);
  check(JSON.stringify(await ids()) === JSON.stringify(p1.items.map((x) => x.id)), 'leads: Previous page goes back to the first');
  const sq = (await api.get('/v1/leads?limit=25&lifecycle_stage=sql', 'read')).body;
  await t.page.select('[data-page="leads"] select[aria-label="Stage"]', 'sql');
  await t.page.waitForFunction((first) => { const b = document.querySelector('table[data-table="leads"] tbody [data-lead]'); return b && b.dataset.lead === first; }, { timeout: 60000 }, sq.items[0].id);
  check(JSON.stringify(await ids()) === JSON.stringify(sq.items.map((x) => x.id)), 'leads: the stage filter lists the API\'s SQLs');

  // a lead's score, opened from the keyboard (the id is a button)
  const lead = sq.items[0].id;
  await t.page.focus(`table[data-table="leads"] [data-lead="${lead}"]`);
  await t.page.keyboard.press('Enter');
  await t.page.waitForSelector('table[data-table="score-signals"]', { timeout: 60000 });
  const sc = (await api.get(`/v1/leads/${encodeURIComponent(lead)}/score`, 'read')).body;
  f = await t.figures();
  for (const [k, v] of [['score', sc.score], ['band', sc.band], ['behavioral', sc.behavioral.points], ['firmographic', sc.firmographic.points], ['negative', sc.negative]]) {
    const x = f[`score.${k}`];
    check(x && (typeof v === 'number' ? num(x.value) === v : x.value === v), `score ${k} of ${lead}: screen ${x && x.value}, API ${v}`);
  }
  let signals = 0;
  for (const s of sc.signals) {
    const x = f[`score.signal.${s.group}.${s.signal}`];
    check(x && num(x.value) === s.points, `score signal ${s.signal}: screen ${x && x.value}, API ${s.points}`);
    signals++;
  }
  check(signals > 0 && signals === await t.page.$$eval('table[data-table="score-signals"] tbody tr', (r) => r.length), `score: every signal listed (${signals})`);
  check(t.page.url().includes(`lead=${encodeURIComponent(lead)}`), 'leads: the lead opened is in the URL (a link to it)');
  await t.page.screenshot({ path: path.join(OUT, 'leads-score.png'), fullPage: true });

  // an unknown lead: the API's problem, its detail on screen
  await t.open('leads', '?lead=NO-SUCH-LEAD');
  const shown = await t.problem('#lead-score');
  const bad = await api.get('/v1/leads/NO-SUCH-LEAD/score', 'read');
  check(bad.status === 404 && shown.status === '404' && shown.detail === `${bad.body.detail} (HTTP 404)`, `leads: an unknown lead shows the API's 404 (${shown.detail})`);
};
