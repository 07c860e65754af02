/**
 * The 900 KB rule without serialising every event: a cheap upper bound on an event's JSON size
 * (UTF-8 is at most 3 bytes per UTF-16 unit, JSON escaping at most 6 per control character — we use 6
 * for every character), and the exact size only for the rare event whose bound exceeds the limit.
 */
export function upperBound(value: unknown): number {
  if (typeof value === 'string') return value.length * 6 + 2;
  if (typeof value !== 'object' || value === null) return 24;
  if (Array.isArray(value)) {
    let n = 2;
    for (const v of value) n += (typeof v === 'string' ? v.length * 6 + 2 : upperBound(v)) + 1;
    return n;
  }
  let n = 2;
  const record = value as Record<string, unknown>;
  // Strings and numbers inline: this runs for every event, and most values are flat.
  for (const k in record) {
    const v = record[k];
    n += memberBound(k, v);
  }
  return n;
}

/** Bound of one `"key":value,` member (the key's quotes, colon and comma included). */
export function memberBound(key: string, value: unknown): number {
  return key.length * 6 + 4 + (typeof value === 'string' ? value.length * 6 + 2 : typeof value === 'object' && value !== null ? upperBound(value) : 24);
}

export function exceedsBytes(event: unknown, limit: number): boolean {
  if (upperBound(event) <= limit) return false;
  return Buffer.byteLength(JSON.stringify(event)) > limit;
}
