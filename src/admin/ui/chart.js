// Events-over-time chart: stacked bars per time bucket and action, drawn as inline SVG (no library, no network).
const NS = 'http://www.w3.org/2000/svg';
const COLORS = { block: '#b3261e', detect: '#8a5a00', 'rate-limit': '#5b3e96', ban: '#3b2a66', allow: '#2e7d32' };

function el(name, attrs) {
  const n = document.createElementNS(NS, name);
  for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, String(v));
  return n;
}

/** Draw `timeline` ({ start, step, counts: [{action: n}] }) into `host`; returns a text summary for screen readers. */
export function drawTimeline(host, timeline) {
  host.textContent = '';
  const W = 600, H = 140, PAD = 18;
  const svg = el('svg', { viewBox: `0 0 ${W} ${H}`, preserveAspectRatio: 'none', focusable: 'false' });
  const totals = timeline.counts.map((c) => Object.values(c).reduce((a, b) => a + b, 0));
  const max = Math.max(1, ...totals);
  const bw = (W - PAD) / timeline.counts.length;
  svg.append(el('line', { x1: PAD, y1: H - PAD, x2: W, y2: H - PAD, stroke: '#888' }));
  const label = el('text', { x: 2, y: 12, 'font-size': 10, fill: '#333' });
  label.textContent = String(max);
  svg.append(label);
  timeline.counts.forEach((c, i) => {
    let y = H - PAD;
    for (const action of Object.keys(COLORS)) {
      const n = c[action] ?? 0;
      if (!n) continue;
      const h = ((H - 2 * PAD) * n) / max;
      y -= h;
      const r = el('rect', { x: PAD + i * bw + 1, y, width: Math.max(1, bw - 2), height: h, fill: COLORS[action] });
      const title = el('title', {});
      title.textContent = `${new Date(timeline.start + i * timeline.step).toLocaleTimeString()}: ${n} ${action}`;
      r.append(title);
      svg.append(r);
    }
  });
  host.append(svg);
  const total = totals.reduce((a, b) => a + b, 0);
  const peak = totals.indexOf(max);
  return `${total} events in the window; busiest bucket ${total ? new Date(timeline.start + peak * timeline.step).toLocaleTimeString() : 'none'} with ${total ? max : 0}.`;
}
