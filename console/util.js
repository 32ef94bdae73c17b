// util.js - the API client, the session and the small DOM helpers every page uses.

const KEY = 'revops.key'; // sessionStorage only: the tab forgets it when closed

export const session = {
  key: () => sessionStorage.getItem(KEY),
  set: (k) => sessionStorage.setItem(KEY, k),
  clear: () => sessionStorage.removeItem(KEY),
  info: null, // GET /v1/session: role, workspace
  can: (role) => {
    const order = { read: 1, write: 2, admin: 3 };
    return !!session.info && order[session.info.role] >= order[role];
  },
};

export class ApiError extends Error {
  constructor(status, problem) {
    super((problem && (problem.detail || problem.title)) || `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
  }
}

// One request to the API of this origin, the key as a header (never in the URL).
export async function api(method, path, body, opts = {}) {
  const headers = { Authorization: `Bearer ${opts.key || session.key()}` };
  if (opts.accept) headers.Accept = opts.accept;
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  const r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: 'no-store' });
  const type = r.headers.get('Content-Type') || '';
  const data = type.includes('json') ? await r.json() : await r.text();
  if (!r.ok) {
    if (r.status === 401 && !opts.key) window.dispatchEvent(new Event('revops-unauthorized'));
    throw new ApiError(r.status, typeof data === 'object' ? data : null);
  }
  return data;
}
export const get = (path, opts) => api('GET', path, undefined, opts);
export const post = (path, body) => api('POST', path, body);

// Every page of a list, following next_cursor (bounded: a console is not an export tool).
export async function all(path, max = 2000) {
  const out = [];
  let cursor = null;
  do {
    const sep = path.includes('?') ? '&' : '?';
    const page = await get(`${path}${sep}limit=200${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
    out.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor && out.length < max);
  return out;
}

// ---- DOM ------------------------------------------------------------------

export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'text') el.textContent = v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

let currency = 'USD';
export function setCurrency(c) { currency = c || 'USD'; }

export function money(v, digits = 0) {
  if (v === null || v === undefined) return '—';
  return new Intl.NumberFormat('en-US', { style: 'currency', currency, maximumFractionDigits: digits, minimumFractionDigits: digits }).format(v);
}
export const pct = (v, d = 1) => (v === null || v === undefined ? '—' : `${(v * 100).toFixed(d)}%`);
export const ratio = (v, d = 2, suffix = 'x') => (v === null || v === undefined ? '—' : `${Number(v).toFixed(d)}${suffix}`);
export const int = (v) => (v === null || v === undefined ? '—' : new Intl.NumberFormat('en-US').format(v));

// A figure on screen carries the API's exact value (data-value) and its name
// (data-figure), so tests compare what is shown with what the API said.
export function fig(name, value, text) {
  return h('span', { 'data-figure': name, 'data-value': value === null || value === undefined ? 'null' : String(value) }, text);
}

export function kpi(label, name, value, fmt) {
  return h('div', { class: 'kpi' }, h('div', { class: 'label' }, label), h('div', { class: 'value' }, fig(name, value, fmt(value))));
}

// A table: columns [{label, key | value(row), fmt, num, figure(row) -> name}].
export function table(caption, columns, rows, opts = {}) {
  const head = h('tr', {}, columns.map((c) => h('th', { scope: 'col', class: c.num ? 'num' : null }, c.label)));
  const body = rows.map((r) => h('tr', { class: opts.rowClass ? opts.rowClass(r) : null },
    columns.map((c) => {
      const v = c.value ? c.value(r) : r[c.key];
      const shown = c.fmt ? c.fmt(v, r) : v === null || v === undefined ? '—' : String(v);
      const cell = c.figure ? fig(c.figure(r), v, shown) : shown;
      return h('td', { class: c.num ? 'num' : null }, cell);
    })));
  return h('table', { 'data-table': opts.name || null }, h('caption', {}, caption), h('thead', {}, head), h('tbody', {}, body));
}

export function loading(text = 'Loading…') { return h('p', { class: 'loading', role: 'status' }, text); }

// A refused request as the API said it: the problem's detail, and each
// offending field with its message when the problem lists them.
export function errorBox(e) {
  const errs = e instanceof ApiError && e.problem && Array.isArray(e.problem.errors) ? e.problem.errors : [];
  return h('div', { class: 'error', role: 'alert', 'data-problem-status': e instanceof ApiError ? String(e.status) : null },
    h('p', { 'data-problem': 'detail' }, e instanceof ApiError ? `${e.message} (HTTP ${e.status})` : String(e.message || e)),
    errs.length ? h('ul', {}, errs.map((x) => h('li', { 'data-problem-field': x.field }, `${x.field}: ${x.message}`))) : null);
}

export function announce(text) {
  const live = document.getElementById('live');
  if (live) live.textContent = text;
}

// Quarters around a period: n before it and after it, labels like 2017-Q4.
export function quarters(center, before = 8, after = 2) {
  const m = /^(\d{4})-Q([1-4])$/.exec(center);
  if (!m) return [center];
  let y = +m[1], q = +m[2];
  const out = [];
  for (let i = -before; i <= after; i++) {
    let qq = q + i, yy = y;
    while (qq < 1) { qq += 4; yy--; }
    while (qq > 4) { qq -= 4; yy++; }
    out.push(`${yy}-Q${qq}`);
  }
  return out;
}

// The hash route: #/page?a=b
export function route() {
  const [path, query] = (location.hash.replace(/^#/, '') || '/forecast').split('?');
  return { page: path.replace(/^\//, '') || 'forecast', params: new URLSearchParams(query || '') };
}
export function setParams(params) {
  const r = route();
  const q = new URLSearchParams(r.params);
  for (const [k, v] of Object.entries(params)) (v === null ? q.delete(k) : q.set(k, v));
  history.replaceState(null, '', `#/${r.page}${q.toString() ? `?${q}` : ''}`);
}
