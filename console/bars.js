// bars.js - the planning pages' charts: a bar chart (hand-written SVG: hires
// per month, a territory's load against its fair share) and a line chart
// (uPlot: cumulative capacity against the phased target). As in charts.js,
// each chart is keyboard navigable (Tab to it, arrow keys step through its
// bars or months, each announced) and the page puts its numbers in a table.
import { h, announce } from './util.js';

const NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

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

// items: [{label, value, note?}]; opts.reference draws a dashed line at that
// value (1.0 = a territory's fair share), opts.cls(item) picks a bar's class.
export function bars(title, items, fmt, opts = {}) {
  const W = 720, H = 260, pad = { l: 64, r: 10, t: 14, b: 54 };
  const ref = opts.reference;
  const hi = Math.max(ref === undefined ? 0 : ref * 1.1, ...items.map((it) => it.value), 1e-9);
  const y = (v) => pad.t + (H - pad.t - pad.b) * (1 - v / hi);
  const bw = (W - pad.l - pad.r) / Math.max(1, items.length);
  const svg = s('svg', { class: 'chart', viewBox: `0 0 ${W} ${H}`, role: 'group', 'aria-label': title });
  svg.append(s('title', {}, title));
  svg.append(s('line', { class: 'axis', x1: pad.l, x2: W - pad.r, y1: y(0), y2: y(0) }));
  for (let k = 0; k <= 4; k++) svg.append(s('text', { x: pad.l - 6, y: y((hi * k) / 4) + 4, 'text-anchor': 'end' }, fmt((hi * k) / 4)));
  // labels are thinned so that at most ~24 fit under the axis
  const every = Math.max(1, Math.ceil(items.length / 24));
  items.forEach((it, i) => {
    const x = pad.l + i * bw + bw * 0.15;
    const top = y(Math.max(0, it.value));
    const label = `${it.label}: ${fmt(it.value)}${it.note ? ` (${it.note})` : ''}`;
    const r = s('rect', { class: `bar ${opts.cls ? opts.cls(it) : 'total'}`, x, y: top, width: Math.max(1, bw * 0.7),
      height: Math.max(1, y(0) - top), tabindex: '0', role: 'img', 'aria-label': label });
    r.append(s('title', {}, label));
    r.addEventListener('focus', () => announce(label));
    svg.append(r);
    if (i % every === 0) {
      svg.append(s('text', { x: x + bw * 0.35, y: H - pad.b + 14, 'text-anchor': 'middle' }, it.label));
      if (items.length <= 24) svg.append(s('text', { x: x + bw * 0.35, y: H - pad.b + 28, 'text-anchor': 'middle', class: 'muted' }, fmt(it.value)));
    }
  });
  if (ref !== undefined) {
    svg.append(s('line', { class: 'axis ref', x1: pad.l, x2: W - pad.r, y1: y(ref), y2: y(ref), 'stroke-dasharray': '6 4' }));
    svg.append(s('text', { x: W - pad.r, y: y(ref) - 4, 'text-anchor': 'end' }, opts.referenceLabel || fmt(ref)));
  }
  arrowNav(svg, '.bar');
  return svg;
}

// Lines over months (uPlot). months: ['2018-01', ...]; series: [{label, values, stroke, width}]
export function lines(el, title, months, series, fmt) {
  const xs = months.map((m) => Date.parse(`${m}-01T00:00:00Z`) / 1000);
  el.setAttribute('tabindex', '0');
  el.setAttribute('role', 'img');
  el.setAttribute('aria-label', `${title}; arrow keys step through the months`);
  if (typeof window.uPlot !== 'function') { el.append(h('p', { class: 'error' }, 'uPlot did not load')); return null; }
  const u = new window.uPlot({
    title, width: Math.max(320, el.clientWidth || 640), height: 280,
    scales: { x: { time: true } },
    axes: [{}, { values: (self, ticks) => ticks.map((t) => fmt(t)), size: 80 }],
    series: [{ label: 'Month', value: (self, v) => (v === null ? '' : new Date(v * 1000).toISOString().slice(0, 7)) },
      ...series.map((x) => ({ label: x.label, stroke: x.stroke, width: x.width || 2, dash: x.dash, value: (self, v) => fmt(v) }))],
  }, [xs, ...series.map((x) => x.values)], el);
  let idx = months.length - 1;
  el.addEventListener('keydown', (e) => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    e.preventDefault();
    idx = Math.max(0, Math.min(months.length - 1, idx + (e.key === 'ArrowRight' ? 1 : -1)));
    u.setCursor({ left: u.valToPos(xs[idx], 'x'), top: u.valToPos(series[0].values[idx], 'y') });
    announce(`${months[idx]}: ${series.map((x) => `${x.label} ${fmt(x.values[idx])}`).join(', ')}`);
  });
  return u;
}
