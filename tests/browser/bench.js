// bench.js - the console's render bench (make bench, scripts/bench.sh; alone:
// make bench-render): the Dashboard and Pipeline pages over a workspace of
// 2,000 deals, loaded in Debian's chromium from revopsd, each as a ratio to
// the blank page (the console's sign-in: the same files, no data, nothing to
// compute) measured in the same round, so the figure says what the data and
// its rendering cost, whatever the machine's load. Never a test: it prints a
// table and the figures for bench-check, nothing here fails on a time.
// Env: REVOPSD, RUNS (rounds, default 5), RENDER_MD (the table), RESULTS (results.tsv lines).
'use strict';
const { execFileSync, spawn } = require('child_process');
const fs = require('fs');
const net = require('net');
const os = require('os');
const path = require('path');
const puppeteer = require('puppeteer-core');

const REVOPSD = path.resolve(process.env.REVOPSD || 'build/revopsd');
const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
const RUNS = Number(process.env.RUNS || 5);
const DEALS = 2000;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

// mulberry32: the same 2,000 deals on every run
function rng(seed) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

// Deals over the last 200 days relative to today (the pages show the current
// quarter): a third closed (won or lost), the rest open in the seed's stages.
function deals(today) {
  const r = rng(42);
  const day = (off) => new Date(today.getTime() + off * 86400000).toISOString().slice(0, 10);
  const out = [];
  for (let i = 0; i < DEALS; i++) {
    const created = -Math.floor(r() * 200) - 15;
    const d = { id: `r${i}`, name: `Deal ${i}`, amount: Math.floor(r() * 600 + 5) * 100, created_at: `${day(created)}T09:00:00Z` };
    const k = r();
    if (k < 0.2) Object.assign(d, { stage: 'closed_won', closed_at: `${day(Math.min(-1, created + 10 + Math.floor(r() * 60)))}T12:00:00Z` });
    else if (k < 0.33) Object.assign(d, { stage: 'closed_lost', closed_at: `${day(Math.min(-1, created + 10 + Math.floor(r() * 60)))}T12:00:00Z` });
    else Object.assign(d, { stage: ['sql', 'opportunity', 'proposal'][Math.floor(r() * 3)], expected_close_date: day(Math.floor(r() * 120)) });
    out.push(d);
  }
  return out;
}

const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
const fmt = (xs) => `${median(xs).toFixed(0)} (${Math.min(...xs).toFixed(0)}-${Math.max(...xs).toFixed(0)})`;

async function main() {
  const pgdir = fs.mkdtempSync(path.join(os.tmpdir(), 'revops-render-pg-'));
  const url = execFileSync('scripts/devdb', ['start', pgdir], { env: { ...process.env, DEVDB_FAST: '1' }, encoding: 'utf8' }).trim().split('\n').pop();
  let server = null, browser = null;
  try {
    const cli = (...a) => execFileSync(REVOPSD, [...a, '--database-url', url], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    cli('migrate');
    const key = cli('keys', 'create', '--workspace', 'render', '--role', 'admin', '--name', 'render bench').trim().split('\n').pop();
    const port = await freePort();
    const base = `http://127.0.0.1:${port}`;
    server = spawn(REVOPSD, ['serve', '--database-url', url, '--listen', `127.0.0.1:${port}`], { stdio: 'ignore' });
    for (let i = 0; i < 100; i++) {
      try { if ((await fetch(`${base}/readyz`)).ok) break; } catch (e) { /* not yet */ }
      await new Promise((res) => setTimeout(res, 100));
    }
    const call = async (method, p, body) => {
      const r = await fetch(base + p, { method, headers: { Authorization: `Bearer ${key}`, 'Content-Type': 'application/json' }, body: body && JSON.stringify(body) });
      const j = await r.json();
      if (!r.ok) throw new Error(`${method} ${p}: HTTP ${r.status} ${JSON.stringify(j).slice(0, 400)}`);
      return j;
    };
    const all = deals(new Date());
    for (let k = 0; k < all.length; k += 1000) {
      const res = await call('POST', '/v1/deals/batch', { items: all.slice(k, k + 1000) });
      if (res.rejected) throw new Error(`deals/batch rejected ${res.rejected}: ${JSON.stringify(res.results.find((x) => x.status === 'rejected'))}`);
    }
    // two snapshots a fortnight apart, with changes between them: the Pipeline page's diff
    const twoWeeks = new Date(Date.now() - 14 * 86400000).toISOString().slice(0, 10);
    await call('POST', '/v1/snapshots', { as_of: `${twoWeeks}T00:00:00Z`, label: 'two weeks ago' });
    const moved = all.filter((d) => !d.closed_at).slice(0, 300).map((d, i) => ({ ...d, amount: d.amount + 1000 + i, stage: 'proposal' }));
    await call('POST', '/v1/deals/batch', { items: moved });
    await call('POST', '/v1/snapshots', { label: 'now' });

    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    const tabOf = async (signedIn) => {
      const page = await browser.newPage();
      await page.setViewport({ width: 1366, height: 900 });
      await page.setCacheEnabled(false);
      await page.goto(`${base}/console/`, { waitUntil: 'networkidle0' });
      if (signedIn) await page.evaluate((k) => sessionStorage.setItem('revops.key', k), key);
      return page;
    };
    const blankTab = await tabOf(false);
    const dataTab = await tabOf(true);
    // one load: from an empty document to the page drawn with its data
    const load = async (page, hash, ready) => {
      await page.goto('about:blank');
      const t0 = performance.now();
      await page.goto(`${base}/console/${hash}`);
      await page.waitForSelector(ready, { timeout: 120000 });
      return performance.now() - t0;
    };
    const t = { blank: [], dashboard: [], pipeline: [] };
    const shown = {};
    for (let i = 0; i <= RUNS; i++) { // round 0 warms the server's caches and the browser; not counted
      const b = await load(blankTab, '', '#signin:not([hidden]) #key');
      const d = await load(dataTab, '#/dashboard', '[data-page="dashboard"][data-ready="true"]');
      shown.deals = await dataTab.$eval('[data-figure="pipeline.total_deals"]', (e) => e.dataset.value).catch(() => '?');
      const p = await load(dataTab, '#/pipeline', '[data-page="pipeline"][data-ready="true"]');
      shown.changes = await dataTab.$$eval('table[data-table="changes"] tbody tr', (rows) => rows.length);
      if (i === 0) continue;
      t.blank.push(b); t.dashboard.push(d); t.pipeline.push(p);
    }
    const ratio = (k) => median(t[k].map((v, i) => v / t.blank[i]));
    const md = [
      `The console in headless chromium (cache off), ${DEALS.toLocaleString('en-US')} deals (${shown.deals} open in the dashboard's pipeline; the Pipeline page's diff of two snapshots lists ${shown.changes} changed deals), ${RUNS} rounds after a warm-up; each page against the blank page (the sign-in: the same files, no data) loaded in the same round (tests/browser/bench.js):`,
      '',
      '| page | ms from an empty tab to drawn, median (min-max) | vs the blank page, per round: median |',
      '|---|---|---|',
      `| blank (sign-in) | ${fmt(t.blank)} | 1.00 |`,
      `| Dashboard | ${fmt(t.dashboard)} | ${ratio('dashboard').toFixed(2)} |`,
      `| Pipeline | ${fmt(t.pipeline)} | ${ratio('pipeline').toFixed(2)} |`,
      '',
    ].join('\n');
    process.stdout.write(md);
    if (process.env.RENDER_MD) fs.writeFileSync(process.env.RENDER_MD, md);
    if (process.env.RESULTS) {
      const line = (...a) => fs.appendFileSync(process.env.RESULTS, `${a.join('\t')}\n`);
      line('console.dashboard_ms', median(t.dashboard).toFixed(0), '<', 1000, 'ms', `Dashboard with ${DEALS} deals drawn (issue 18: under a second)`);
      line('console.pipeline_ms', median(t.pipeline).toFixed(0), '<', 1000, 'ms', `Pipeline with ${DEALS} deals drawn (issue 18: under a second)`);
      line('console.dashboard.ratio', ratio('dashboard').toFixed(2), 'info', '-', 'x blank', 'Dashboard vs the blank page');
      line('console.pipeline.ratio', ratio('pipeline').toFixed(2), 'info', '-', 'x blank', 'Pipeline vs the blank page');
    }
  } finally {
    if (browser) await browser.close();
    if (server) { server.kill('SIGTERM'); await new Promise((r) => server.once('exit', r)); }
    try { execFileSync('scripts/devdb', ['stop', pgdir], { stdio: 'ignore' }); } catch (e) { /* stopped */ }
    fs.rmSync(pgdir, { recursive: true, force: true });
  }
}

main().catch((e) => { console.error(`bench-render: ${e.stack || e}`); process.exit(1); });
