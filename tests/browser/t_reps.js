// t_reps.js - the reps page (read key): attainment by rep and by manager
// equals GET /v1/attainment's for the same period, figure by figure; a rep's
// scorecard (opened from the keyboard) shows every figure of GET
// /v1/reps/{id}/scorecard, each null with its reason as text, the coaching
// notes and deal-signal counts; the Markdown shown is the API's Markdown; an
// unknown rep shows the API's problem detail.
'use strict';
const path = require('path');
const { num } = require('./tab.js');

module.exports = async function reps({ t, api, check, OUT, keys }) {
  await t.signIn('read');
  await t.open('reps');
  check(t.problems.length === 0, `reps (read) loads clean: ${t.problems.join('; ')}`);
  const period = (await api.get('/v1/dashboard', 'read')).body.period;

  const same = async (by) => {
    const a = (await api.get(`/v1/attainment?period=${period}&group_by=${by}`, 'read')).body;
    const f = await t.figures();
    for (const k of ['quota', 'won', 'attainment', 'pace', 'projected', 'projected_attainment', 'new_deals_forecast']) {
      const x = f[`att.total.${k}`];
      check(x && num(x.value) === a.total[k], `attainment (${by}) total ${k}: screen ${x && x.value}, API ${a.total[k]}`);
    }
    let rows = 0;
    for (const r of a.items) {
      for (const k of ['quota', 'won', 'attainment', 'pace_gap', 'pace', 'projected', 'projected_attainment']) {
        const x = f[`att.${r.key}.${k}`];
        check(x && num(x.value) === r[k], `attainment (${by}) ${r.key} ${k}: screen ${x && x.value}, API ${r[k]}`);
      }
      rows++;
    }
    check(rows > 0 && rows === await t.page.$$eval('table[data-table="attainment"] tbody tr', (x) => x.length), `attainment (${by}): ${rows} rows, as the API`);
    return a;
  };
  const byRep = await same('rep');
  check(byRep.total.quota > 0, `reps: the demo has ${period} quotas (${byRep.total.quota})`);
  const bars = await t.page.$$eval('[data-page="reps"] svg.chart .bar', (els) => els.length);
  check(bars === byRep.items.length, `reps: a bar per rep (${bars})`);
  await t.page.screenshot({ path: path.join(OUT, 'reps-read.png'), fullPage: true });

  await t.page.select('[data-page="reps"] select[aria-label="Group by"]', 'manager');
  await t.page.waitForSelector('[data-page="reps"][data-ready="true"] table[data-table="attainment"]', { timeout: 180000 });
  await t.page.waitForFunction(() => /by manager/.test(document.querySelector('[data-page="reps"] section h2').textContent), { timeout: 180000 });
  await same('manager');

  // a rep's scorecard, opened from the keyboard
  await t.open('reps');
  const rep = byRep.items[0].key;
  await t.page.focus(`table[data-table="attainment"] [data-rep="${rep}"]`);
  await t.page.keyboard.press('Enter');
  await t.page.waitForSelector('table[data-table="scorecard-quota"]', { timeout: 120000 });
  const s = (await api.get(`/v1/reps/${encodeURIComponent(rep)}/scorecard?period=${period}`, 'read')).body;
  const f = await t.figures();
  const want = [['quota', s.quota], ['won', s.won], ['attainment', s.attainment],
    ...['created_this_period', 'coverage_ratio', 'avg_deal_size', 'win_rate', 'avg_cycle_days'].map((k) => [`pipeline.${k}`, s.pipeline[k]]),
    ...['calls_per_day', 'emails_per_day', 'meetings_booked_per_week', 'demos_per_week'].map((k) => [`activity.${k}`, s.activity[k]]),
    ...['cost_per_meeting', 'revenue_per_activity', 'pipeline_to_close_ratio'].map((k) => [`efficiency.${k}`, s.efficiency[k]])];
  let nulls = 0;
  for (const [k, v] of want) {
    const x = f[`card.${k}`];
    check(x && (typeof v === 'string' ? x.value === v : num(x.value) === v), `scorecard ${k}: screen ${x && x.value}, API ${v}`);
    if (v === null && x) {
      nulls++;
      const reason = k.startsWith('activity.') && k !== 'activity.demos_per_week' ? s.activity.reason : k.startsWith('efficiency.') ? s.efficiency.reason : null;
      check(reason ? x.text.includes(reason) : /^— \(.{8,}\)$/.test(x.text), `scorecard ${k} is null and says why: "${x.text}"`);
    }
  }
  check(nulls > 0, `scorecard: the demo's scorecard has empty figures with reasons (${nulls})`);
  for (const k of ['strengths', 'improvement_areas', 'action_items']) {
    const shown = await t.page.$$eval(`[data-notes="${k}"] li`, (els) => els.map((e) => e.textContent));
    check(JSON.stringify(shown) === JSON.stringify(s.coaching_notes[k]), `scorecard ${k} as the API (${shown.length})`);
  }
  for (const [k, n] of Object.entries(s.deal_signals.counts)) check(f[`card.signals.${k}`] && num(f[`card.signals.${k}`].value) === n, `scorecard signal ${k}: ${n}`);
  check(t.page.url().includes(`rep=${encodeURIComponent(rep).replace(/%20/g, '+')}`) || t.page.url().includes(`rep=${encodeURIComponent(rep)}`), `reps: the rep opened is in the URL (${t.page.url()})`);

  // the Markdown, one click away, is the API's
  await t.page.click('[data-control="scorecard-markdown"]');
  await t.page.waitForSelector('pre[data-scorecard-doc="markdown"]', { timeout: 60000 });
  const md = await t.page.$eval('pre[data-scorecard-doc="markdown"]', (e) => e.textContent);
  const base = new URL(t.page.url()).origin;
  const r = await fetch(`${base}/v1/reps/${encodeURIComponent(rep)}/scorecard?period=${period}`, { headers: { Authorization: `Bearer ${keys.read}`, Accept: 'text/markdown' } });
  check(md === await r.text() && md.startsWith('## Rep Scorecard'), 'scorecard: the Markdown shown is the API\'s');
  await t.page.screenshot({ path: path.join(OUT, 'reps-scorecard.png'), fullPage: true });

  // an unknown rep: the API's 404 on screen
  await t.open('reps', '?rep=NO-SUCH-REP');
  const shown = await t.problem('#scorecard');
  const bad = await api.get(`/v1/reps/NO-SUCH-REP/scorecard?period=${period}`, 'read');
  check(bad.status === 404 && shown.status === '404' && shown.detail === `${bad.body.detail} (HTTP 404)`, `reps: an unknown rep shows the API's 404 (${shown.detail})`);
};
