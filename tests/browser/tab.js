// tab.js - one browser tab of the console for the page suites (t_*.js): its
// own sessionStorage (so its sign-in does not touch the main run's), the
// problems it saw (console errors, failed requests, HTTP >= 400, requests to
// anything but revopsd), and the helpers the suites share.
'use strict';

async function tab(browser, base, keys) {
  const page = await browser.newPage();
  await page.setViewport({ width: 1366, height: 900 });
  const problems = [];
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console error: ${m.text()}`); });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure() && r.failure().errorText}`));
  page.on('response', (r) => { if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`); });
  page.on('request', (r) => { if (!r.url().startsWith(base) && !r.url().startsWith('data:')) problems.push(`request elsewhere: ${r.url()}`); });
  const t = {
    page, problems,
    async signIn(role) {
      await page.goto(`${base}/`, { waitUntil: 'networkidle0' });
      if (await page.$('#nav:not([hidden])')) { await page.click('#signout'); }
      await page.waitForSelector('#key', { visible: true });
      await page.type('#key', keys[role]);
      await page.click('#signin-form button[type=submit]');
      await page.waitForSelector('#nav:not([hidden])', { timeout: 30000 });
    },
    async open(name, query = '') {
      problems.length = 0;
      await page.evaluate((hh) => { location.hash = hh; }, `#/${name}${query}`);
      await page.waitForSelector(`[data-page="${name}"][data-ready="true"]`, { timeout: 180000 });
      await page.waitForNetworkIdle({ idleTime: 300, timeout: 60000 }).catch(() => {});
    },
    async figures() {
      const list = await page.$$eval('[data-figure]', (els) => els.map((e) => ({ name: e.dataset.figure, value: e.dataset.value, text: e.textContent })));
      return Object.fromEntries(list.map((f) => [f.name, f]));
    },
    // the problem box a refused request left (detail and listed fields)
    async problem(scope) {
      await page.waitForSelector(`${scope} [role="alert"]`, { timeout: 60000 });
      return page.$eval(`${scope} [role="alert"]`, (e) => ({
        status: e.dataset.problemStatus,
        detail: e.querySelector('[data-problem="detail"]').textContent,
        fields: [...e.querySelectorAll('[data-problem-field]')].map((li) => li.dataset.problemField),
      }));
    },
  };
  return t;
}

// The API as the console calls it, with one of the run's keys.
function client(base, keys) {
  const call = async (method, p, role, body, type = 'application/json') => {
    const r = await fetch(base + p, { method, headers: { Authorization: `Bearer ${keys[role]}`, ...(body !== undefined ? { 'Content-Type': type } : {}) },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body) });
    const ct = r.headers.get('content-type') || '';
    return { status: r.status, body: ct.includes('json') ? await r.json() : await r.text() };
  };
  return {
    get: (p, role = 'admin') => call('GET', p, role),
    post: (p, body, role = 'admin') => call('POST', p, role, body),
  };
}

const num = (v) => (v === 'null' ? null : Number(v));
const money = (v, d = 0) => (v === null ? '—' : new Intl.NumberFormat('en-US', { style: 'currency', currency: 'USD', maximumFractionDigits: d, minimumFractionDigits: d }).format(v));

module.exports = { tab, client, num, money };
