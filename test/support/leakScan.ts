/**
 * Finds credential material in text a human or telemetry could see (logs, error messages, quarantine
 * and parked blobs, process output). Hits name the source, the line number and the kind of secret —
 * never the secret itself, so a failing scan does not leak what it found.
 *
 * Every `AccountKey=` value counts, the public Azurite development key included: redaction must not
 * depend on knowing which keys are "real".
 */
export interface LeakPattern {
  name: string;
  re: RegExp;
}

const NOT_MASKED = '(?!\\[REDACTED\\])';

export const LEAK_PATTERNS: readonly LeakPattern[] = [
  // Any account key value (base64, or anything key-like such as "not-base64"), unless masked.
  { name: 'storage account key (AccountKey=…)', re: new RegExp(`AccountKey=${NOT_MASKED}[A-Za-z0-9+/%=_.-]{3,}`, 'i') },
  { name: 'SAS connection string (SharedAccessSignature=…)', re: new RegExp(`SharedAccessSignature=${NOT_MASKED}[^;\\s"'<>]{3,}`, 'i') },
  { name: 'shared access key (SharedAccessKey=…)', re: new RegExp(`SharedAccessKey=${NOT_MASKED}[^;\\s"'<>]{3,}`, 'i') },
  // A SAS signature as a query parameter or in a bare token; "sig= in" (prose) is not a value.
  { name: 'SAS signature (sig=…)', re: new RegExp(`(?:^|[^A-Za-z0-9_])sig=${NOT_MASKED}[^&;\\s"'<>]{8,}`, 'i') },
  { name: 'URL-encoded SAS signature (sig%3D…)', re: /sig%3D(?!%5BREDACTED)[A-Za-z0-9%+/]{8,}/i },
  { name: 'bearer token', re: new RegExp(`\\bBearer\\s+${NOT_MASKED}[A-Za-z0-9\\-._~+/]{16,}=*`) },
  { name: 'SharedKey request signature', re: /\bSharedKey(?:Lite)?\s+[^:\s]+:[A-Za-z0-9+/]{20,}={0,2}/ },
  { name: 'private key (PEM)', re: /-----BEGIN [A-Z ]*PRIVATE KEY-----/ },
  // The Azurite development key is public, but a key is a key: it must not show up bare either.
  { name: 'Azurite development key', re: /Eby8vdM02xNOcqFlqUwJ/ },
];

export interface LeakHit {
  source: string;
  line: number;
  kind: string;
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*[A-Za-z]/g;

/** The kinds of secret found in one line (pattern names; `needles` are exact strings known to be secret). */
export function scanLine(line: string, needles: readonly string[] = []): string[] {
  const text = line.replace(ANSI, '');
  const kinds = LEAK_PATTERNS.filter((p) => p.re.test(text)).map((p) => p.name);
  needles.forEach((needle, i) => {
    if (needle.length >= 8 && text.includes(needle)) kinds.push(`known secret #${i + 1}`);
  });
  return kinds;
}

export function scanText(source: string, text: string, needles: readonly string[] = []): LeakHit[] {
  const hits: LeakHit[] = [];
  text.split(/\r?\n/).forEach((line, i) => {
    for (const kind of scanLine(line, needles)) hits.push({ source, line: i + 1, kind });
  });
  return hits;
}

export function describeHits(hits: readonly LeakHit[]): string {
  return hits.map((h) => `${h.source}:${h.line}: ${h.kind}`).join('\n');
}

/** Variants of a secret as it may appear in text: raw, URL-encoded, URL-decoded. */
export function secretForms(secret: string): string[] {
  const forms = new Set([secret, encodeURIComponent(secret)]);
  try {
    forms.add(decodeURIComponent(secret));
  } catch {
    // not URL-encoded
  }
  return [...forms];
}

/** JSON that tolerates bigints (reports carry sequence numbers). */
export function toText(value: unknown): string {
  if (typeof value === 'string') return value;
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v), 2) ?? String(value);
}
