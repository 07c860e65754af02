/**
 * The scale chart as a small hand-written SVG (no dependency): events/s (left axis) and peak RSS
 * (right axis) against events per batch on a log x axis, with the ceiling's events/s and the
 * 256 MB memory target for reference.
 */
export interface ChartPoint {
  batchEvents: number;
  eventsPerSec: number;
  ceilingEventsPerSec?: number;
  peakRssMB: number;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function niceMax(x: number): number {
  if (!(x > 0)) return 1;
  const p = 10 ** Math.floor(Math.log10(x));
  for (const m of [1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8, 10]) if (m * p >= x) return m * p;
  return 10 * p;
}

const short = (n: number) => (n >= 1e6 ? `${n / 1e6}M` : n >= 1e3 ? `${n / 1e3}k` : String(n));

export function scaleChart(points: ChartPoint[], options: { title: string; subtitle?: string; rssTargetMB?: number }): string {
  const W = 780;
  const H = 440;
  const m = { left: 78, right: 78, top: 62, bottom: 66 };
  const pw = W - m.left - m.right;
  const ph = H - m.top - m.bottom;
  const xs = points.map((p) => Math.log10(p.batchEvents));
  const x0 = Math.min(...xs) - 0.3;
  const x1 = Math.max(...xs) + 0.3;
  const X = (n: number) => m.left + ((Math.log10(n) - x0) / (x1 - x0)) * pw;
  const rateMax = niceMax(Math.max(...points.map((p) => Math.max(p.eventsPerSec, p.ceilingEventsPerSec ?? 0))) * 1.08);
  const memMax = niceMax(Math.max(...points.map((p) => p.peakRssMB), options.rssTargetMB ?? 0) * 1.08);
  const YL = (v: number) => m.top + ph - (v / rateMax) * ph;
  const YR = (v: number) => m.top + ph - (v / memMax) * ph;
  const blue = '#1f6fb2';
  const orange = '#d9622b';
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="12">`);
  out.push(`<rect width="${W}" height="${H}" fill="#ffffff"/>`);
  out.push(`<text x="${W / 2}" y="24" text-anchor="middle" font-size="15" font-weight="600">${esc(options.title)}</text>`);
  if (options.subtitle) out.push(`<text x="${W / 2}" y="42" text-anchor="middle" fill="#555">${esc(options.subtitle)}</text>`);

  // Grid and left axis (events/s).
  for (let i = 0; i <= 5; i++) {
    const v = (rateMax / 5) * i;
    const y = YL(v);
    out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${y}" y2="${y}" stroke="#e5e5e5"/>`);
    out.push(`<text x="${m.left - 8}" y="${y + 4}" text-anchor="end" fill="${blue}">${esc(short(Math.round(v)))}</text>`);
    const mv = (memMax / 5) * i;
    out.push(`<text x="${m.left + pw + 8}" y="${YR(mv) + 4}" fill="${orange}">${Math.round(mv)}</text>`);
  }
  // Log x axis: a tick per measured batch size, light lines at the decades.
  for (let d = Math.ceil(x0); d <= Math.floor(x1); d++) {
    const x = m.left + ((d - x0) / (x1 - x0)) * pw;
    out.push(`<line x1="${x}" x2="${x}" y1="${m.top}" y2="${m.top + ph}" stroke="#f0f0f0"/>`);
  }
  for (const p of points) {
    const x = X(p.batchEvents);
    out.push(`<line x1="${x}" x2="${x}" y1="${m.top + ph}" y2="${m.top + ph + 5}" stroke="#333"/>`);
    out.push(`<text x="${x}" y="${m.top + ph + 19}" text-anchor="middle">${short(p.batchEvents)}</text>`);
  }
  out.push(`<rect x="${m.left}" y="${m.top}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  out.push(`<text x="${m.left + pw / 2}" y="${H - 22}" text-anchor="middle">events per batch (log scale)</text>`);
  out.push(`<text transform="translate(20 ${m.top + ph / 2}) rotate(-90)" text-anchor="middle" fill="${blue}">events/s (median, end to end)</text>`);
  out.push(`<text transform="translate(${W - 18} ${m.top + ph / 2}) rotate(90)" text-anchor="middle" fill="${orange}">peak RSS, MB</text>`);

  if (options.rssTargetMB) {
    const y = YR(options.rssTargetMB);
    out.push(`<line x1="${m.left}" x2="${m.left + pw}" y1="${y}" y2="${y}" stroke="${orange}" stroke-dasharray="2 4" stroke-width="1.5"/>`);
    out.push(`<text x="${m.left + pw - 6}" y="${y - 6}" text-anchor="end" fill="${orange}">target ≤ ${options.rssTargetMB} MB</text>`);
  }
  const path = (pts: [number, number][]) => pts.map(([x, y], i) => `${i ? 'L' : 'M'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ');
  const ceiling = points.filter((p) => p.ceilingEventsPerSec !== undefined);
  if (ceiling.length > 1) {
    out.push(`<path d="${path(ceiling.map((p) => [X(p.batchEvents), YL(p.ceilingEventsPerSec!)]))}" fill="none" stroke="${blue}" stroke-opacity="0.45" stroke-width="1.5" stroke-dasharray="6 4"/>`);
  }
  out.push(`<path d="${path(points.map((p) => [X(p.batchEvents), YL(p.eventsPerSec)]))}" fill="none" stroke="${blue}" stroke-width="2.5"/>`);
  out.push(`<path d="${path(points.map((p) => [X(p.batchEvents), YR(p.peakRssMB)]))}" fill="none" stroke="${orange}" stroke-width="2.5"/>`);
  for (const p of points) {
    const x = X(p.batchEvents);
    out.push(`<circle cx="${x}" cy="${YL(p.eventsPerSec)}" r="4" fill="${blue}"><title>${short(p.batchEvents)} events/batch: ${Math.round(p.eventsPerSec)} events/s</title></circle>`);
    // Labels beside their marker (rate to the left, memory to the right) so close points never collide.
    out.push(`<text x="${x - 8}" y="${YL(p.eventsPerSec) + 4}" text-anchor="end" fill="${blue}" font-size="11">${esc(short(Math.round(p.eventsPerSec / 100) * 100))}/s</text>`);
    out.push(`<rect x="${x - 4}" y="${YR(p.peakRssMB) - 4}" width="8" height="8" fill="${orange}"><title>${short(p.batchEvents)} events/batch: peak RSS ${p.peakRssMB.toFixed(0)} MB</title></rect>`);
    out.push(`<text x="${x + 8}" y="${YR(p.peakRssMB) + 4}" fill="${orange}" font-size="11">${p.peakRssMB.toFixed(0)} MB</text>`);
  }
  // Legend.
  const lx = m.left + 12;
  const ly = m.top + 14;
  out.push(`<rect x="${lx - 6}" y="${ly - 12}" width="232" height="${ceiling.length > 1 ? 58 : 40}" fill="#fff" fill-opacity="0.85" stroke="#ccc"/>`);
  out.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly}" y2="${ly}" stroke="${blue}" stroke-width="2.5"/><text x="${lx + 30}" y="${ly + 4}">pipeline events/s (left)</text>`);
  out.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly + 18}" y2="${ly + 18}" stroke="${orange}" stroke-width="2.5"/><text x="${lx + 30}" y="${ly + 22}">peak RSS MB (right)</text>`);
  if (ceiling.length > 1) {
    out.push(`<line x1="${lx}" x2="${lx + 24}" y1="${ly + 36}" y2="${ly + 36}" stroke="${blue}" stroke-opacity="0.45" stroke-width="1.5" stroke-dasharray="6 4"/><text x="${lx + 30}" y="${ly + 40}">ceiling events/s (left)</text>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}
