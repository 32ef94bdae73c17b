// t_assess.js - the assessments page: a write key scores the workspace from
// the form (the seed's template as YAML, then as JSON with an answer changed);
// every figure on screen (total, stage, focus, weakest, the six dimensions,
// rubric points, band) is GET /v1/assessments/{id}'s; the comparison is GET
// .../compare's; a malformed document shows the API's problem detail; a read
// key sees the list but no form, and opens an older one from the keyboard.
'use strict';
const path = require('path');
const { num } = require('./tab.js');

module.exports = async function assess({ t, api, check, OUT, keys }) {
  const base = () => new URL(t.page.url()).origin;
  await t.signIn('write');
  // the sign-in lands on the forecast call (its trend is costly, as is POST /v1/assessments:
  // one at a time per key): let it finish first
  await t.page.waitForNetworkIdle({ idleTime: 500, timeout: 180000 }).catch(() => {});
  await t.open('assess');
  check(t.problems.length === 0, `assessments (write) load clean: ${t.problems.join('; ')}`);
  check(await t.page.$('[data-control="assessment-form"]') !== null, 'a write key sees the assessment form');
  const before = (await api.get('/v1/assessments?limit=200', 'read')).body.items.length;

  const submitAndWait = async (known) => {
    await t.page.click('[data-control="assessment-form"] button[type=submit]');
    await t.page.waitForFunction((ids) => { const m = /[?&]id=([^&]+)/.exec(location.hash); return m && !ids.includes(m[1]) && document.querySelector('[data-page="assess"][data-ready="true"] table[data-table="assess-dimensions"]'); }, { timeout: 180000 }, known);
    await t.page.waitForNetworkIdle({ idleTime: 300, timeout: 60000 }).catch(() => {});
    return /[?&]id=([^&]+)/.exec(new URL(t.page.url()).hash)[1];
  };
  const same = async (id) => {
    const a = (await api.get(`/v1/assessments/${id}`, 'read')).body;
    const f = await t.figures();
    const want = [['assess.total', a.maturity.total], ['assess.stage', a.maturity.stage], ['assess.weakest', a.maturity.weakest], ['assess.focus', a.maturity.focus],
      ['assess.rubric.total', a.rubric.total], ['assess.band', a.rubric.band],
      ...a.maturity.dimensions.map((d) => [`assess.dim.${d.dimension}`, d.score]), ...a.rubric.dimensions.map((d) => [`assess.rubric.${d.key}`, d.points])];
    for (const [k, v] of want) check(f[k] && (typeof v === 'number' ? num(f[k].value) === v : f[k].value === v), `assessment ${k}: screen ${f[k] && f[k].value}, API ${v}`);
    check(a.maturity.dimensions.length === 6 && a.maturity.dimensions.every((d) => d.score >= 1 && d.score <= 5), 'assessment: six dimensions scored 1-5');
    check(f['assess.band'] && f['assess.band'].text === a.rubric.band_text, `assessment band shown as "${f['assess.band'] && f['assess.band'].text}"`);
    const ev = await t.page.$$eval('table[data-table="assess-dimensions"] tbody tr', (rows) => rows.map((r) => r.children[4].textContent));
    a.maturity.dimensions.forEach((d, i) => check(d.evidence ? ev[i].startsWith(d.evidence) : ev[i].length > 0, `assessment ${d.dimension}: its evidence or answer shown (${ev[i]})`));
    return a;
  };

  // the template as it stands, in YAML
  const first = await submitAndWait([]);
  const a1 = await same(first);
  const ws = (await api.get('/v1/session', 'write')).body.workspace.name;
  check(a1.request.company_name === ws, `assessment: the template names the workspace (${a1.request.company_name}, ${ws})`);
  const dimAlign = a1.maturity.dimensions.find((d) => d.dimension === 'alignment');
  check(dimAlign.source === 'answer' && dimAlign.score === 1, `assessment: alignment from the template's answer (${dimAlign.source} ${dimAlign.score})`);
  check(await t.page.$eval('#assessment-compare', (e) => e.textContent).then((x) => before > 0 || /No earlier/.test(x)), 'assessment: the first one has nothing to compare with');

  // the same as JSON, alignment answered 3: the comparison moves alignment by 2
  await t.page.select('[data-control="assessment-form"] select[name="format"]', 'json');
  const text = await t.page.$eval('[data-control="assessment-form"] textarea', (e) => e.value);
  check(JSON.parse(text).answers.dimensions.alignment === 1, 'assessment: the template follows the format (JSON)');
  await t.page.$eval('[data-control="assessment-form"] textarea', (e, v) => { e.value = v; }, text.replace('"alignment": 1', '"alignment": 3'));
  const second = await submitAndWait([first]);
  const a2 = await same(second);
  check(a2.maturity.total === a1.maturity.total + 2, `assessment: alignment 3 adds 2 to the total (${a1.maturity.total} -> ${a2.maturity.total})`);
  const c = (await api.get(`/v1/assessments/${second}/compare?against=${first}`, 'read')).body;
  const f = await t.figures();
  const moves = [['maturity.total', c.maturity.total], ...c.maturity.dimensions.map((d) => [`dim.${d.dimension}`, d]), ['rubric.total', c.rubric.total], ...c.rubric.dimensions.map((d) => [`rubric.${d.key}`, d])];
  for (const [k, m] of moves) for (const p of ['from', 'to', 'delta']) check(f[`cmp.${k}.${p}`] && num(f[`cmp.${k}.${p}`].value) === m[p], `compare ${k} ${p}: screen ${f[`cmp.${k}.${p}`] && f[`cmp.${k}.${p}`].value}, API ${m[p]}`);
  check(f['cmp.dim.alignment.delta'] && num(f['cmp.dim.alignment.delta'].value) === 2, 'compare: alignment moved +2');
  check(f['cmp.stage'] && f['cmp.stage'].value === `${c.maturity.stage.from}>${c.maturity.stage.to}`, 'compare: the stages as the API');
  await t.page.screenshot({ path: path.join(OUT, 'assess-write.png'), fullPage: true });

  // a malformed document: the API's 400, its detail on screen
  const bad = 'company_name: [unclosed\n';
  await t.page.select('[data-control="assessment-form"] select[name="format"]', 'yaml');
  await t.page.$eval('[data-control="assessment-form"] textarea', (e, v) => { e.value = v; }, bad);
  t.problems.length = 0;
  await t.page.click('[data-control="assessment-form"] button[type=submit]');
  const shown = await t.problem('#assessment-result');
  const r = await fetch(`${base()}/v1/assessments`, { method: 'POST', headers: { Authorization: `Bearer ${keys.write}`, 'Content-Type': 'application/yaml' }, body: bad });
  const pb = await r.json();
  check(r.status === 400 && shown.status === '400' && shown.detail === `${pb.detail} (HTTP 400)`, `assessment: malformed YAML shows the API's 400 (${shown.detail})`);
  check((await api.get('/v1/assessments?limit=200', 'read')).body.items.length === before + 2, 'assessment: only the two good documents were stored');

  // a read key: the list, no form; an older assessment opened from the keyboard
  await t.signIn('read');
  await t.page.waitForNetworkIdle({ idleTime: 500, timeout: 180000 }).catch(() => {});
  await t.open('assess');
  check(t.problems.length === 0, `assessments (read) load clean: ${t.problems.join('; ')}`);
  check(await t.page.$('[data-control="assessment-form"], textarea') === null, 'a read key sees no assessment form');
  const listed = await t.page.$$eval('table[data-table="assessments"] [data-assessment]', (els) => els.map((e) => e.dataset.assessment));
  const apiList = (await api.get('/v1/assessments?limit=200', 'read')).body.items.map((x) => x.id);
  check(JSON.stringify(listed) === JSON.stringify(apiList), `assessments: the list is the API's, newest first (${listed.length})`);
  await t.page.focus(`[data-assessment="${first}"]`);
  await t.page.keyboard.press('Enter');
  await t.page.waitForFunction((id) => location.hash.includes(`id=${id}`) && document.querySelector('[data-page="assess"][data-ready="true"] table[data-table="assess-dimensions"]'), { timeout: 120000 }, first);
  await same(first);
  await t.page.screenshot({ path: path.join(OUT, 'assess-read.png'), fullPage: true });
};
