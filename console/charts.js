// charts.js - the console's charts. Waterfall and funnel are hand-written SVG;
// the forecast band is uPlot (vendored, embedded). Every chart is keyboard
// navigable (Tab to it, arrow keys between its points, each announced) and has
// its numbers in a table beside it (the pages add the table).
import { h, announce } from './util.js';

const NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

// Arrow keys move focus between a chart's focusable marks.
function arrowNav(root, selector) {
  root.addEventListener('keydown', (e) => {
    const marks = [...root.querySelectorAll(selector)];
    const i = marks.indexOf(document.activeElement);
    if (i < 0) return;
    let j = i;
    if (e.key === 'ArrowRight' || e.key === 'ArrowDown') j = Math.min(marks.length - 1, i + 1);
    else if (e.key === 'ArrowLeft' || e.key === 'ArrowUp') j = Math.max(0, i - 1);
    else if (e.key === 'Home') j = 0;
    else if (e.key === 'End') j = marks.length - 1;
    else return;
    e.preventDefault();
    marks[j].focus();
  });
}

// steps: [{label, value, kind: 'total' | 'delta'}]; deltas are signed.
export function waterfall(title, steps, fmt) {
  const W = 720, H = 280, pad = { l: 70, r: 10, t: 16, b: 46 };
  let run = 0;
  const bars = steps.map((st) => {
    if (st.kind === 'total') { run = st.value; return { ...st, from: 0, to: st.value }; }
    const from = run; run += st.value; return { ...st, from, to: run };
  });
  const lo = Math.min(0, ...bars.map((b) => Math.min(b.from, b.to)));
  const hi = Math.max(1, ...bars.map((b) => Math.max(b.from, b.to)));
  const y = (v) => pad.t + (H - pad.t - pad.b) * (1 - (v - lo) / (hi - lo || 1));
  const bw = (W - pad.l - pad.r) / bars.length;
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'group', 'aria-label': title });
  svg.append(s('title', {}, title));
  svg.append(s('line', { class: 'axis', x1: pad.l, x2: W - pad.r, y1: y(0), y2: y(0) }));
  for (let k = 0; k <= 4; k++) {
    const v = lo + ((hi - lo) * k) / 4;
    svg.append(s('text', { x: pad.l - 6, y: y(v) + 4, 'text-anchor': 'end' }, fmt(v)));
  }
  bars.forEach((b, i) => {
    const x = pad.l + i * bw + bw * 0.15;
    const top = y(Math.max(b.from, b.to)), bottom = y(Math.min(b.from, b.to));
    const cls = b.kind === 'total' ? 'total' : b.value >= 0 ? 'up' : 'down';
    const label = `${b.label}: ${b.kind === 'total' ? '' : b.value >= 0 ? '+' : '−'}${fmt(Math.abs(b.value))}`;
    const r = s('rect', { class: `bar ${cls}`, x, y: top, width: bw * 0.7, height: Math.max(1, bottom - top), tabindex: '0', role: 'img', 'aria-label': label });
    r.append(s('title', {}, label));
    r.addEventListener('focus', () => announce(label));
    svg.append(r);
    svg.append(s('text', { x: x + bw * 0.35, y: H - pad.b + 14, 'text-anchor': 'middle' }, b.label));
    svg.append(s('text', { x: x + bw * 0.35, y: H - pad.b + 28, 'text-anchor': 'middle', class: 'muted' }, b.kind === 'total' ? fmt(b.value) : `${b.value >= 0 ? '+' : '−'}${fmt(Math.abs(b.value))}`));
  });
  arrowNav(svg, '.bar');
  return svg;
}

// stages: [{label, count, rate (to the next, or null), tier}]
export function funnel(title, stages) {
  const W = 720, rowH = 34, H = stages.length * rowH + 10;
  const max = Math.max(1, ...stages.map((st) => st.count));
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'group', 'aria-label': title });
  svg.append(s('title', {}, title));
  stages.forEach((st, i) => {
    const w = Math.max(2, ((W - 260) * st.count) / max);
    const x = 130 + (W - 260 - w) / 2;
    const label = `${st.label}: ${st.count}${st.rate === null || st.rate === undefined ? '' : `, ${(st.rate * 100).toFixed(1)}% to the next stage (${st.tier || 'no tier'})`}`;
    const r = s('rect', { class: 'bar total', x, y: 5 + i * rowH, width: w, height: rowH - 8, tabindex: '0', role: 'img', 'aria-label': label });
    r.append(s('title', {}, label));
    r.addEventListener('focus', () => announce(label));
    svg.append(r);
    svg.append(s('text', { x: 120, y: 5 + i * rowH + rowH / 2, 'text-anchor': 'end' }, st.label));
    svg.append(s('text', { x: W - 120, y: 5 + i * rowH + rowH / 2 }, `${st.count}${st.rate === null || st.rate === undefined ? '' : ` → ${(st.rate * 100).toFixed(1)}%`}`));
  });
  arrowNav(svg, '.bar');
  return svg;
}

// The forecast's P10-P90 band over the period's weeks, the forecast and what
// was won by each point. points: [{as_of, p10, p90, forecast, won}]
export function band(el, title, points, fmt) {
  const xs = points.map((p) => Date.parse(`${p.as_of}T00:00:00Z`) / 1000);
  const data = [xs, points.map((p) => p.p10), points.map((p) => p.p90), points.map((p) => p.forecast), points.map((p) => p.won)];
  el.setAttribute('tabindex', '0');
  el.setAttribute('role', 'img');
  el.setAttribute('aria-label', `${title}; arrow keys step through the weeks`);
  if (typeof window.uPlot !== 'function') { el.append(h('p', { class: 'error' }, 'uPlot did not load')); return null; }
  const width = Math.max(320, el.clientWidth || 640);
  const u = new window.uPlot({
    title, width, height: 300,
    scales: { x: { time: true } },
    axes: [{}, { values: (self, ticks) => ticks.map((t) => fmt(t)), size: 80 }],
    series: [
      { label: 'Week of' },
      { label: 'P10', stroke: '#7aa2d6', value: (self, v) => fmt(v) },
      { label: 'P90', stroke: '#7aa2d6', value: (self, v) => fmt(v) },
      { label: 'Forecast', stroke: '#1f5fbf', width: 2, value: (self, v) => fmt(v) },
      { label: 'Won', stroke: '#1e7d3a', width: 2, value: (self, v) => fmt(v) },
    ],
    bands: [{ series: [2, 1], fill: 'rgba(31,95,191,0.15)' }],
  }, data, el);
  let idx = points.length - 1;
  el.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    e.preventDefault();
    idx = Math.max(0, Math.min(points.length - 1, idx + (e.key === 'ArrowRight' ? 1 : -1)));
    const left = u.valToPos(xs[idx], 'x');
    const top = u.valToPos(points[idx].forecast, 'y');
    u.setCursor({ left, top });
    const p = points[idx];
    announce(`${p.as_of}: forecast ${fmt(p.forecast)}, P10 ${fmt(p.p10)}, P90 ${fmt(p.p90)}, won ${fmt(p.won)}`);
  });
  return u;
}

// A tornado: per input, the outcome at its low and high step around the base.
// rows: [{field, low, high, base}]
export function tornado(title, rows, fmt) {
  const W = 720, rowH = 28, pad = { l: 190, r: 20, t: 10, b: 24 };
  const H = pad.t + rows.length * rowH + pad.b;
  const base = rows.length ? rows[0].base : 0;
  const lo = Math.min(base, ...rows.map((r) => Math.min(r.low, r.high)));
  const hi = Math.max(base + 1, ...rows.map((r) => Math.max(r.low, r.high)));
  const x = (v) => pad.l + ((W - pad.l - pad.r) * (v - lo)) / (hi - lo || 1);
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'group', 'aria-label': title });
  svg.append(s('title', {}, title));
  rows.forEach((r, i) => {
    const y = pad.t + i * rowH;
    const a = Math.min(r.low, r.high), b = Math.max(r.low, r.high);
    const label = `${r.field.replace(/_/g, ' ')}: ${fmt(r.low)} to ${fmt(r.high)} (base ${fmt(r.base)})`;
    const rect = s('rect', { class: 'bar total', x: x(a), y: y + 4, width: Math.max(1, x(b) - x(a)), height: rowH - 8, tabindex: '0', role: 'img', 'aria-label': label });
    rect.append(s('title', {}, label));
    rect.addEventListener('focus', () => announce(label));
    svg.append(rect);
    svg.append(s('text', { x: pad.l - 6, y: y + rowH / 2 + 4, 'text-anchor': 'end' }, r.field.replace(/_/g, ' ')));
  });
  svg.append(s('line', { class: 'axis', x1: x(base), x2: x(base), y1: pad.t, y2: H - pad.b }));
  svg.append(s('text', { x: x(base), y: H - 6, 'text-anchor': 'middle' }, `base ${fmt(base)}`));
  arrowNav(svg, '.bar');
  return svg;
}
