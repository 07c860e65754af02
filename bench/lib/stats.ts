/** Small statistics and formatting helpers for the benchmarks. */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Median absolute deviation relative to the median, in percent: a robust spread figure. */
export function madPct(xs: readonly number[]): number {
  const m = median(xs);
  return (median(xs.map((x) => Math.abs(x - m))) / m) * 100;
}

export const round = (x: number, digits = 0) => {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
};

export const fmtInt = (n: number) => (Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '—');
export const fmt1 = (n: number) => (Number.isFinite(n) ? n.toFixed(1) : '—');
export const fmt2 = (n: number) => (Number.isFinite(n) ? n.toFixed(2) : '—');
export const MB = (bytes: number) => bytes / (1024 * 1024);

/** A plain-text table: the first `leftColumns` columns left-aligned, the rest (numbers) right-aligned. */
export function table(headers: string[], rows: (string | number)[][], leftColumns = 1): string {
  const cells = [headers, ...rows.map((r) => r.map(String))];
  const widths = headers.map((_, i) => Math.max(...cells.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) => r.map((c, i) => (i < leftColumns ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(cells[0]), widths.map((w) => '-'.repeat(w)).join('  '), ...cells.slice(1).map(line)].join('\n');
}
