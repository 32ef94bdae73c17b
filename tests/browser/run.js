// run.js - the console in a real browser (make test-browser): Debian's
// chromium driven by puppeteer-core, against a private PostgreSQL (scripts/devdb)
// and a revopsd of its own holding the demo (the CRM sample and its synthetic
// companion). For each page and role: it loads with no console error and no
// failed request, the figures on screen equal the API's for the same call, a
// read key sees no write control, signing out forgets the key. Screenshots
// of every page go to $OUT (build/browser/).
'use strict';
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const path = require('path');
const puppeteer = require('puppeteer-core');
const { tab, client } = require('./tab.js');

const REVOPSD = path.resolve(process.env.REVOPSD || 'build/revopsd');
const OUT = path.resolve(process.env.OUT || 'build/browser');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const PAGES = ['forecast', 'dashboard', 'pipeline', 'funnel', 'leads', 'reps', 'plans', 'capacity', 'territories', 'alerts', 'hygiene', 'assess', 'import', 'data'];
// the pages with a suite of their own (t_NAME.js), each run in a tab of its own
const SUITES = ['capacity', 'territories', 'import', 'leads', 'reps', 'hygiene', 'assess', 'alerts'];
const WRITE_CONTROLS = '.write-control, .admin-control, [data-control="run-forecast"], [data-control="take-snapshots"], [data-control="replay"], [data-control="create-key"], [data-control="plan"], [data-control="territory-create"], [data-control="territory-apply"], [data-control="import"], [data-control="assessment-form"]';

let passed = 0, failed = 0;
const failures = [];
function check(ok, what) {
  if (ok) passed++;
  else { failed++; failures.push(what); console.log(`FAIL: ${what}`); }
}

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

async function main() {
  fs.rmSync(OUT, { recursive: true, force: true });
  fs.mkdirSync(OUT, { recursive: true });
  const pgdir = fs.mkdtempSync('/tmp/revops-browser-pg-');
  const env = { ...process.env, DEVDB_FAST: '1' };
  const url = execFileSync('scripts/devdb', ['start', pgdir], { env, encoding: 'utf8' }).trim().split('\n').pop();
  let server = null, browser = null;
  const log = path.join(OUT, 'revopsd.log');
  try {
    const cli = (...args) => execFileSync(REVOPSD, [...args, '--database-url', url], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    cli('migrate');
    const t0 = Date.now();
    cli('demo', 'load', '--dir', 'data/crm-sample', '--workspace', 'demo');
    console.log(`browser: demo loaded in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
    const keys = {};
    for (const role of ['admin', 'write', 'read']) keys[role] = cli('keys', 'create', '--workspace', 'demo', '--role', role, '--name', `browser ${role}`).trim().split('\n').pop();
    // the import page writes into workspaces of its own: one the console imports into, one the
    // test sends the same request to (the report must be the same), neither touching the demo
    const other = (ws, role) => cli('keys', 'create', '--workspace', ws, '--role', role, '--name', `browser ${ws} ${role}`).trim().split('\n').pop();
    keys.import_write = other('browser-import', 'write');
    keys.import_read = other('browser-import', 'read');
    keys.check_write = other('browser-import-check', 'write');
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    // the machine is shared: the trend (a rebuilt pipeline each Monday) can take a minute under
    // load, and SLA compliance over a quarter of the demo's leads about 6 s idle (more than the
    // 8 s database deadline under load), so these limits are raised for this run only
    server = spawn(REVOPSD, ['serve', '--database-url', url, '--listen', `127.0.0.1:${port}`, '--conn-timeout', '600',
      '--statement-timeout-ms', '300000', '--db-deadline-ms', '300000'], { stdio: ['ignore', 'ignore', fs.openSync(log, 'w')] });
    for (let i = 0; i < 100; i++) {
      try { if ((await fetch(`${base}/readyz`)).ok) break; } catch (e) { /* not yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    const apiGet = async (p, role = 'admin', accept) => {
      const r = await fetch(base + p, { headers: { Authorization: `Bearer ${keys[role]}`, ...(accept ? { Accept: accept } : {}) } });
      return r.headers.get('content-type').includes('json') ? r.json() : r.text();
    };

    // the redirect and the page's headers
    const root = await fetch(`${base}/`, { redirect: 'manual' });
    check(root.status === 302 && root.headers.get('location') === '/console/', 'GET / redirects to /console/');
    const index = await fetch(`${base}/console/`);
    const csp = index.headers.get('content-security-policy') || '';
    check(index.status === 200 && csp.includes("default-src 'none'") && csp.includes("script-src 'self'"), 'the console page carries its CSP');

    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    const page = await browser.newPage();
    await page.setViewport({ width: 1366, height: 900 });
    const problems = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure() && r.failure().errorText}`));
    page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
    page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('data:')) problems.push(`request elsewhere: ${r.url()}`); });

    const signIn = async (role) => {
      await page.goto(`${base}/`, { waitUntil: 'networkidle0' });
      await page.waitForSelector('#key', { visible: true });
      await page.type('#key', keys[role]);
      await page.click('#signin-form button[type=submit]');
      await page.waitForSelector('#nav:not([hidden])', { timeout: 30000 });
    };
    const open = async (name, query = '') => {
      problems.length = 0;
      await page.evaluate((h) => { location.hash = h; }, `#/${name}${query}`);
      await page.waitForSelector(`[data-page="${name}"][data-ready="true"]`, { timeout: 180000 });
      await page.waitForNetworkIdle({ idleTime: 300, timeout: 60000 }).catch(() => {});
    };
    const figures = () => page.$$eval('[data-figure]', (els) => els.map((e) => ({ name: e.dataset.figure, value: e.dataset.value, text: e.textContent })));
    const num = (v) => (v === 'null' ? null : Number(v));
    const money = (v, d = 0) => (v === null ? '—' : new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: d, minimumFractionDigits: d }).format(v));

    // ---- admin: every page; the write controls exist and work ----
    await signIn('admin');
    const dash = await apiGet('/v1/dashboard');
    const period = dash.period;
    console.log(`browser: default period ${period}`);
    await open('forecast');
    check(problems.length === 0, `forecast (admin) loads clean: ${problems.join('; ')}`);
    check(await page.$('[data-control="run-forecast"]') !== null, 'an admin key sees "Run the call"');
    check(await page.$('[data-control="take-snapshots"]') !== null, 'an admin key sees "Take snapshots"');
    await page.click('[data-control="run-forecast"]');
    await page.waitForSelector('[data-page="forecast"][data-ready="true"] table[data-table="rollup"]', { timeout: 180000 });
    await page.click('[data-control="take-snapshots"]');
    await page.waitForSelector('[data-page="forecast"][data-ready="true"] table[data-table="waterfall"]', { timeout: 180000 });
    await open('plans');
    check(await page.$('[data-control="plan"]') !== null, 'an admin key sees the plan form');
    await page.click('[data-control="plan"] button[type=submit]');
    await page.waitForSelector('[data-page="plans"][data-ready="true"] table[data-table="scenarios"]', { timeout: 180000 });
    for (const name of PAGES) {
      await open(name);
      check(problems.length === 0, `${name} (admin) loads with no console error or failed request: ${problems.join('; ')}`);
      await page.screenshot({ path: path.join(OUT, `${name}-admin.png`), fullPage: true });
    }
    check(await page.$('[data-control="create-key"]') !== null, 'an admin key sees key creation on Data');

    // ---- the figures on screen are the API's ----
    await open('dashboard');
    const apiDash = await apiGet(`/v1/dashboard`);
    let compared = 0;
    for (const f of await figures()) {
      const m = /^(arr|retention|efficiency|pipeline|conversion|forecast)\.(\w+)$/.exec(f.name);
      if (!m) continue;
      const want = apiDash[m[1]][m[2]];
      check(num(f.value) === (want === undefined ? null : want), `dashboard ${f.name}: screen ${f.value}, API ${want}`);
      compared++;
    }
    check(compared >= 30, `dashboard: ${compared} figures compared`);
    const cur = (await figures()).find((f) => f.name === 'arr.current');
    check(cur && cur.text === money(apiDash.arr.current), `ARR shown as ${cur && cur.text}, API ${money(apiDash.arr.current)}`);
    for (const [sec, key] of [['efficiency', 'cac'], ['efficiency', 'ltv']]) {
      if (apiDash[sec][key] !== null) continue;
      const why = await page.$$eval(`table[data-table="${sec}"] tr`, (rows, k) => rows.map((r) => r.textContent).filter((t) => t.startsWith(k)), key === 'cac' ? 'CAC' : 'LTV');
      check(why.length && /customer|spend|margin|churn/.test(why[0]), `dashboard says why ${sec}.${key} is empty: ${why[0]}`);
    }
    await page.click('[data-control="yaml"]');
    await page.waitForSelector('pre.yaml');
    const yaml = await page.$eval('pre.yaml', (e) => e.textContent);
    check(yaml === await apiGet('/v1/dashboard', 'admin', 'application/yaml'), 'the YAML shown is the API\'s YAML');

    await open('forecast');
    const trend = await apiGet(`/v1/forecasts/trend?period=${period}`);
    const last = trend.points[trend.points.length - 1];
    const fs1 = await figures();
    const byName = Object.fromEntries(fs1.map((f) => [f.name, f]));
    for (const k of ['won', 'commit', 'best_case', 'pipeline', 'forecast']) {
      check(byName[k] && num(byName[k].value) === last[k], `forecast call ${k}: screen ${byName[k] && byName[k].value}, API ${last[k]}`);
      check(byName[k] && byName[k].text === money(last[k]), `forecast call ${k} shown as ${byName[k] && byName[k].text}`);
    }
    for (const p of trend.points) check(byName[`trend.${p.as_of}.p10`] && num(byName[`trend.${p.as_of}.p10`].value) === p.p10 && num(byName[`trend.${p.as_of}.p90`].value) === p.p90, `trend ${p.as_of} P10/P90 as the API`);
    const fcs = (await apiGet('/v1/forecasts?limit=200')).items.filter((f) => f.period === period && f.group_by === 'manager');
    const stored = fcs.sort((a, b) => (a.created_at < b.created_at ? 1 : -1))[0];
    check(!!stored, 'the call run from the console is stored');
    if (stored) {
      let reps = 0;
      for (const g of stored.groups) {
        const f = byName[`rollup.${g.key}`];
        check(f && num(f.value) === g.expected, `roll-up ${g.key}: screen ${f && f.value}, API ${g.expected}`);
        reps++;
      }
      check(reps > 0, `roll-up: ${reps} reps compared`);
    }
    const snaps = (await apiGet('/v1/snapshots?limit=200')).items.filter((x) => x.as_of.slice(0, 10) <= last.as_of)
      .sort((a, b) => a.as_of.localeCompare(b.as_of));
    if (snaps.length >= 2) {
      const d = await apiGet(`/v1/snapshots/${snaps[snaps.length - 1].id}/diff?against=${snaps[snaps.length - 2].id}`);
      for (const k of Object.keys(d.waterfall)) check(byName[`waterfall.${k}`] && num(byName[`waterfall.${k}`].value) === d.waterfall[k], `waterfall ${k} as the API`);
    }
    check(snaps.length >= 2, 'the console took two snapshots');

    // the plan on screen is the stored scenarios' answer
    await open('plans');
    const set = (await apiGet('/v1/scenarios?limit=200')).items.sort((a, b) => (a.created_at < b.created_at ? 1 : -1))[0];
    const pf = Object.fromEntries((await figures()).map((f) => [f.name, f]));
    for (const r of set.results) {
      const f = pf[`plan.${r.name}.Ending ARR`];
      check(f && num(f.value) === r.revenue.ending_arr, `plan ${r.name} ending ARR: screen ${f && f.value}, API ${r.revenue.ending_arr}`);
    }
    const baseSc = set.results.find((r) => r.name === 'base');
    for (const row of baseSc.sensitivity.rows) check(pf[`tornado.${row.field}`] && num(pf[`tornado.${row.field}`].value) === row.swing, `tornado ${row.field} swing as the API`);
    await open('forecast');

    // keyboard: the waterfall's bars and the band take focus and arrow keys
    await page.evaluate(() => document.querySelector('svg.chart .bar').focus());
    await page.keyboard.press('ArrowRight');
    const focused = await page.evaluate(() => document.activeElement && document.activeElement.getAttribute('aria-label'));
    check(focused && /New/.test(focused), `arrow keys move along the waterfall (${focused})`);

    // ---- read key: the same pages, no write control ----
    await page.click('#signout');
    for (const name of PAGES) {
      if (name === PAGES[0]) await signIn('read');
      await open(name);
      check(problems.length === 0, `${name} (read) loads with no console error or failed request: ${problems.join('; ')}`);
      const ctl = await page.$$eval(WRITE_CONTROLS, (els) => els.map((e) => e.outerHTML.slice(0, 80)));
      check(ctl.length === 0, `a read key sees no write control on ${name}: ${ctl.join(' ')}`);
      await page.screenshot({ path: path.join(OUT, `${name}-read.png`), fullPage: true });
    }

    // ---- the page suites: each in its own tab (its own sessionStorage) ----
    const api = client(base, keys);
    for (const name of SUITES) {
      const t = await tab(browser, base, keys);
      try {
        await require(`./t_${name}.js`)({ t, api, check, OUT, keys });
      } catch (e) {
        check(false, `${name} suite: ${e.stack || e}`);
        await t.page.screenshot({ path: path.join(OUT, `${name}-failure.png`), fullPage: true }).catch(() => {});
      } finally {
        await t.page.close();
      }
    }

    // ---- signing out forgets the key ----
    check(!page.url().includes(keys.read), 'the key is never in the URL');
    await page.click('#signout');
    const stored2 = await page.evaluate(() => ({ n: sessionStorage.length, local: localStorage.length, cookie: document.cookie }));
    check(stored2.n === 0 && stored2.local === 0 && stored2.cookie === '', `signed out: nothing kept (${JSON.stringify(stored2)})`);
    await page.reload({ waitUntil: 'networkidle0' });
    check(await page.$eval('#signin', (e) => !e.hidden) && await page.$eval('#nav', (e) => e.hidden), 'after sign-out a reload asks for a key');
    await page.screenshot({ path: path.join(OUT, 'signin.png') });
    const text = fs.readFileSync(log, 'utf8');
    check(!Object.values(keys).some((k) => text.includes(k)), 'no key in the server log');
  } finally {
    if (browser) await browser.close();
    if (server) { server.kill('SIGTERM'); await new Promise((r) => server.once('exit', r)); }
    try { execFileSync('scripts/devdb', ['stop', pgdir], { stdio: 'ignore' }); } catch (e) { /* already stopped */ }
    fs.rmSync(pgdir, { recursive: true, force: true });
  }
  console.log(`browser: screenshots in ${OUT}`);
  console.log(`tests: ${passed} passed, ${failed} failed`);
  process.exit(failed ? 1 : 0);
}

main().catch((e) => { console.error(e); console.log(`tests: ${passed} passed, ${failed + 1} failed`); process.exit(1); });
