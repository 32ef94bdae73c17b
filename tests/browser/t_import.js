// t_import.js - the CSV import page, in a workspace of its own: a file picked
// in the page is previewed row by row; a bad mapping shows the API's detail
// and fields; the import's report on screen (counts, fixes, every rejected
// row with its reason, marked in the preview) is the one the API gives the
// same request in another empty workspace; the rows are written there and
// only there; a read key has no import and the API refuses it.
'use strict';
const fs = require('fs');
const path = require('path');
const { num } = require('./tab.js');

const CSV = [
  'Opportunity,Stage,Value,Product',
  'IMP-1,proposal,1200.50,',
  'IMP-2,opportunity,800,',
  'IMP-3,nonsense,500,',
  'IMP-4,proposal,abc,',
  ',proposal,100,',
  'IMP-6,proposal,,GTXPro',
  '"IMP-7","opportunity","2,500",""',
  '',
].join('\r\n');

module.exports = async function imports({ t, api, check, OUT }) {
  const page = t.page;
  const file = path.join(OUT, 'import-deals.csv');
  fs.writeFileSync(file, CSV);
  await t.signIn('import_write');
  await t.open('import');
  check(t.problems.length === 0, `import (write) loads clean: ${t.problems.join('; ')}`);
  const input = await page.$('form[data-control="import"] input[type=file]');
  await input.uploadFile(file);
  await page.waitForSelector('table[data-table="import-preview"] tbody tr');
  const preview = await page.$$eval('table[data-table="import-preview"] tr', (rows) => rows.map((r) => [...r.children].map((c) => c.textContent)));
  check(JSON.stringify(preview[0]) === JSON.stringify(['Row', 'Opportunity', 'Stage', 'Value', 'Product']), `import: the preview's header is the file's (${preview[0]})`);
  check(preview.length === 8 && JSON.stringify(preview[7]) === JSON.stringify(['7', 'IMP-7', 'opportunity', '2,500', '']) && JSON.stringify(preview[1]) === JSON.stringify(['1', 'IMP-1', 'proposal', '1200.50', '']),
    `import: the preview shows the file's rows, quoted fields unquoted (${preview.length - 1} rows; ${preview[7]})`);
  await page.screenshot({ path: path.join(OUT, 'import-preview.png'), fullPage: true });

  const setMap = (col, v) => page.$eval(`[data-control="import-mapping"] input[data-column="${col}"]`, (e, x) => { e.value = x; }, v);
  const submit = async () => { t.problems.length = 0; await page.click('form[data-control="import"] button[type=submit]'); };
  const base = { object: 'deals', format: 'csv', data: CSV };

  // a mapping to no field: the API's problem on screen, nothing written
  await setMap('Opportunity', 'id, name');
  await setMap('Value', 'worth');
  await submit();
  const shown = await t.problem('#import-result');
  const badReq = { ...base, mapping: { Opportunity: ['id', 'name'], Value: 'worth' } };
  const bad = await api.post('/v1/imports', badReq, 'check_write');
  check(bad.status === 422 && shown.status === '422' && shown.detail === `${bad.body.detail} (HTTP 422)`, `import: a bad mapping shows the API's detail (${shown.detail})`);
  const want = (bad.body.errors || []).map((e) => e.field).sort();
  check(want.includes('mapping.Value') && JSON.stringify(shown.fields.sort()) === JSON.stringify(want), `import: the offending mapping on screen (${shown.fields} vs ${want})`);
  check((await api.get('/v1/deals?limit=10', 'import_read')).body.items.length === 0, 'import: a refused import writes nothing');

  // the import: the same report as the API's for the same request
  // the file's column names are not the API's field names (Stage, Product): mapped here
  await setMap('Stage', 'stage');
  await setMap('Value', 'amount');
  await setMap('Product', 'product');
  await page.$eval('form[data-control="import"] textarea[name="options"]', (e) => { e.value = '{"price_list": {"GTX Pro": 4821}}'; });
  await submit();
  await page.waitForSelector('#import-result [data-figure="import.rows"]', { timeout: 60000 });
  check(t.problems.length === 0, `import: the import is clean: ${t.problems.join('; ')}`);
  const req = { ...base, price_list: { 'GTX Pro': 4821 }, mapping: { Opportunity: ['id', 'name'], Stage: 'stage', Value: 'amount', Product: 'product' } };
  const sent = JSON.parse(await page.$eval('pre[data-import-request]', (e) => e.textContent));
  check(JSON.stringify(sent.mapping) === JSON.stringify(req.mapping) && JSON.stringify(sent.price_list) === JSON.stringify(req.price_list) && sent.object === 'deals' && sent.format === 'csv',
    `import: the page sent the mapping and options (${JSON.stringify(sent)})`);
  const r = await api.post('/v1/imports', req, 'check_write');
  check(r.status === 200, `import: the API imports the same request (HTTP ${r.status})`);
  const rep = r.body;
  const f = await t.figures();
  for (const k of ['rows', 'created', 'updated', 'unchanged', 'stale', 'rejected', 'fixed']) check(f[`import.${k}`] && num(f[`import.${k}`].value) === rep[k], `import ${k}: screen ${f[`import.${k}`] && f[`import.${k}`].value}, API ${rep[k]}`);
  check(rep.rows === 7 && rep.rejected >= 3 && rep.created >= 3 && rep.fixed >= 1, `import: the file has rows written, fixed and rejected (${JSON.stringify({ rows: rep.rows, created: rep.created, rejected: rep.rejected, fixed: rep.fixed })})`);
  const rejections = await page.$$eval('table[data-table="import-rejections"] tbody tr', (rows) => rows.map((tr) => [...tr.children].map((c) => c.textContent)));
  check(rejections.length === rep.rejections.length && rep.rejections.every((x, i) => rejections[i][0] === String(x.row) && rejections[i][1] === (x.id === null ? '—' : x.id) && rejections[i][2] === x.reason),
    `import: every rejected row with its reason as the API (${JSON.stringify(rejections)})`);
  const marked = await page.$$eval('table[data-table="import-preview"] tr.rejected', (rows) => rows.map((tr) => Number(tr.dataset.row)));
  check(JSON.stringify(marked) === JSON.stringify(rep.rejections.map((x) => x.row).sort((a, b) => a - b)), `import: the rejected rows are marked in the preview (${marked})`);
  for (const s of rep.fix_summary) check(f[`import.fix.${s.field}.${s.from}`] && num(f[`import.fix.${s.field}.${s.from}`].value) === s.count, `import: fix ${s.field} ${s.from} → ${s.to} as the API`);
  await page.screenshot({ path: path.join(OUT, 'import-write.png'), fullPage: true });

  // written in this workspace, and only there
  const d1 = await api.get('/v1/deals/IMP-1', 'import_read');
  check(d1.status === 200 && d1.body.amount === 1200.5 && d1.body.stage === 'proposal', `import: IMP-1 is stored (${d1.status} ${d1.body.amount})`);
  check((await api.get('/v1/deals/IMP-1', 'read')).status === 404, 'import: another workspace\'s key does not see the imported deal');

  // a read key: no import on the page, and the API refuses one
  await t.signIn('import_read');
  await t.open('import');
  check(t.problems.length === 0, `import (read) loads clean: ${t.problems.join('; ')}`);
  check(await page.$('[data-control="import"], input[type=file], .write-control') === null, 'import: a read key has no import form');
  check(await page.$('[data-readonly="import"]') !== null, 'import: a read key is told why it cannot import');
  const ro = await api.post('/v1/imports', req, 'import_read');
  check(ro.status === 403, `import: the API refuses a read key's import (HTTP ${ro.status})`);
  await page.screenshot({ path: path.join(OUT, 'import-read.png'), fullPage: true });
};
