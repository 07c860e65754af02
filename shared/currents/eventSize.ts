/**
 * The 900 KB rule without serialising every event: a cheap upper bound on an event's JSON size
 * (UTF-8 is at most 3 bytes per UTF-16 unit, JSON escaping at most 6 per control character — we use 6
 * for every character), and the exact size only for the rare event whose bound exceeds the limit.
 */
function upperBound(value: unknown): number {
  if (typeof value === 'string') return value.length * 6 + 2;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) return 24;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + upperBound(v) + 1, 2);
  if (typeof value === 'object') {
    let n = 2;
    const record = value as Record<string, unknown>;
    for (const k in record) n += k.length * 6 + 3 + upperBound(record[k]) + 1; // no entries array per event
    return n;
  }
  return 24;
}

export function exceedsBytes(event: unknown, limit: number): boolean {
  if (upperBound(event) <= limit) return false;
  return Buffer.byteLength(JSON.stringify(event)) > limit;
}
