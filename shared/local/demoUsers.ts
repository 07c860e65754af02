/**
 * Deterministic synthetic users for data exports (tests, local runs, the benchmark): user `i` is the
 * same on every run and machine. Values are realistic on purpose: some strings look like formulas
 * (`=`, `+`, `-`, `@` at the start), names carry unicode and the CSV specials (delimiters, quotes,
 * newlines), optional fields are often missing, and arrays/objects appear where Braze has them.
 *
 * Two shapes of the same user:
 * - `demoUserDataRow(i)`: keyed by the CSV column names (docs/exports.md), custom attributes under
 *   `custom_attributes` — what a CSV export reads;
 * - `demoApiUser(i)`: keyed by API segment-export field names (`fields_to_export`); a field the user
 *   does not have is absent (never null).
 */
const FIRST = ['Ana', 'Björn', 'Chloé', 'Dmitri', 'Émile', 'Fatima', 'Gao', 'Hana', 'Ines', 'José', '李', 'Zoë', 'Ola', 'Ngozi'];
const LAST = ['Smith', 'Müller', "O'Brien", 'García', 'Nguyễn', '田中', 'Kowalski', 'Da Silva', 'Smith, Jr.', 'Ivanova'];
const CITIES = ['New York', 'Berlin', 'São Paulo', 'Tōkyō', 'Zürich', 'Paris', 'Lagos', 'Mumbai'];
const COUNTRIES = ['US', 'DE', 'BR', 'JP', 'CH', 'FR', 'NG', 'IN'];
const LANGUAGES = ['en', 'de', 'pt', 'ja', 'fr', 'yo', 'hi'];
const TIMEZONES = ['America/New_York', 'Europe/Berlin', 'America/Sao_Paulo', 'Asia/Tokyo', 'Europe/Zurich', 'Africa/Lagos', 'Asia/Kolkata'];
const COLORS = ['blue', 'green', '=HYPERLINK("http://evil.example","click")', '-red', '+1 orange', '@yellow', 'purple;pink', 'teal|navy', 'say "hi"', 'line\nbreak'];
const PLANS = ['free', 'gold', 'platinum'];
const BASE_MS = Date.UTC(2024, 0, 1);

/** A small, fast, seedable PRNG (mulberry32): one per user, seeded by its index. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const hex = (r: () => number, n: number) => {
  let s = '';
  while (s.length < n) s += ((r() * 4294967296) >>> 0).toString(16).padStart(8, '0');
  return s.slice(0, n);
};
const uuid = (r: () => number) => {
  const h = hex(r, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
};
const iso = (ms: number) => new Date(ms).toISOString();

interface Draw {
  brazeId: string;
  externalId: string;
  first?: string;
  last?: string;
  email?: string;
  phone?: string;
  dob?: string;
  gender?: string;
  city?: string;
  country?: string;
  language?: string;
  timezone: string;
  createdMs: number;
  firstSessionMs?: number;
  lastSessionMs?: number;
  sessions: number;
  appVersion?: string;
  idfas: string[];
  idfvs: string[];
  googleAdIds: string[];
  rokuAdIds: string[];
  windowsAdIds: string[];
  pushTokens: number;
  optedIntoPushMs?: number;
  unsubscribedFromPushMs?: number;
  unsubscribedFromEmailsMs?: number;
  optedInToEmailsMs?: number;
  randomBucket: number;
  purchaseTotal: number;
  aliases: { alias_name: string; alias_label: string }[];
  devices: { model: string; os: string; carrier?: string; idfv?: string; ad_tracking_enabled: boolean }[];
  custom: Record<string, unknown>;
}

function draw(i: number): Draw {
  const r = rng(i * 2654435761 + 1013904223);
  const has = (p: number) => r() < p;
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)];
  const createdMs = BASE_MS + Math.floor(r() * 600 * 86_400_000);
  const sessions = has(0.85) ? 1 + Math.floor(r() * 400) : 0;
  const first = has(0.9) ? pick(FIRST) : undefined;
  const last = has(0.85) ? pick(LAST) : undefined;
  const ios = has(0.45);
  const idfvs = ios ? [uuid(r).toUpperCase()] : [];
  // Rows are JSON-like: no undefined values, even nested.
  const devices: Draw['devices'] = ios
    ? [has(0.5) ? { model: 'iPhone15,2', os: 'iOS 18.1', carrier: 'Vodafone', idfv: idfvs[0], ad_tracking_enabled: has(0.3) } : { model: 'iPhone15,2', os: 'iOS 18.1', idfv: idfvs[0], ad_tracking_enabled: has(0.3) }]
    : has(0.7)
      ? [{ model: 'Pixel 8', os: 'Android 15', ad_tracking_enabled: has(0.6) }]
      : [];
  const custom: Record<string, unknown> = { favorite_color: pick(COLORS), plan: pick(PLANS), loyalty_points: Math.floor(r() * 10_000) };
  if (has(0.3)) custom.interests = ['running', 'jazz', 'café'].slice(0, 1 + Math.floor(r() * 3));
  if (has(0.2)) custom.nickname = null;
  return {
    brazeId: hex(r, 24),
    externalId: has(0.1) ? `-user-${i}` : `user-${i}`,
    first,
    last,
    email: has(0.9) ? `${(first ?? 'user').toLowerCase()}.${i}@example.com` : undefined,
    phone: has(0.4) ? `+1555${String(1_000_000 + (i % 8_999_999))}` : undefined,
    dob: has(0.5) ? `19${50 + Math.floor(r() * 50)}-0${1 + Math.floor(r() * 9)}-1${Math.floor(r() * 9)}` : undefined,
    gender: has(0.6) ? pick(['M', 'F', 'O', 'N', 'P']) : undefined,
    city: has(0.7) ? pick(CITIES) : undefined,
    country: has(0.8) ? pick(COUNTRIES) : undefined,
    language: has(0.8) ? pick(LANGUAGES) : undefined,
    timezone: pick(TIMEZONES),
    createdMs,
    firstSessionMs: sessions > 0 ? createdMs + 60_000 : undefined,
    lastSessionMs: sessions > 0 ? createdMs + Math.floor(r() * 90 * 86_400_000) : undefined,
    sessions,
    appVersion: sessions > 0 ? `${1 + Math.floor(r() * 5)}.${Math.floor(r() * 10)}.0` : undefined,
    idfas: ios && has(0.3) ? [uuid(r).toUpperCase()] : [],
    idfvs,
    googleAdIds: !ios && has(0.4) ? [uuid(r)] : [],
    rokuAdIds: has(0.02) ? [uuid(r)] : [],
    windowsAdIds: has(0.02) ? [uuid(r)] : [],
    pushTokens: devices.length > 0 && has(0.6) ? 1 : 0,
    optedIntoPushMs: has(0.4) ? createdMs + 3_600_000 : undefined,
    unsubscribedFromPushMs: has(0.05) ? createdMs + 7_200_000 : undefined,
    unsubscribedFromEmailsMs: has(0.1) ? createdMs + 86_400_000 : undefined,
    optedInToEmailsMs: has(0.3) ? createdMs + 1_800_000 : undefined,
    randomBucket: Math.floor(r() * 10_000),
    purchaseTotal: has(0.2) ? Math.round(r() * 50_000) / 100 : 0,
    aliases: has(0.15) ? [{ alias_name: `crm-${i}`, alias_label: 'crm_id' }] : [],
    devices,
    custom,
  };
}

/** A row for CSV exports: one key per CSV column (docs/exports.md), custom attributes nested. */
export function demoUserDataRow(i: number): Record<string, unknown> {
  const d = draw(i);
  return {
    'Appboy ID': d.brazeId,
    country: d.country ?? null,
    created_at: iso(d.createdMs),
    devices: d.devices,
    date_of_birth: d.dob ?? null,
    email: d.email ?? null,
    unsubscribed_from_emails_at: d.unsubscribedFromEmailsMs !== undefined ? iso(d.unsubscribedFromEmailsMs) : null,
    user_id: d.externalId,
    first_name: d.first ?? null,
    first_session: d.firstSessionMs !== undefined ? iso(d.firstSessionMs) : null,
    gender: d.gender ?? null,
    google_ad_ids: d.googleAdIds,
    city: d.city ?? null,
    IDFAs: d.idfas,
    IDFVs: d.idfvs,
    language: d.language ?? null,
    last_app_version_used: d.appVersion ?? null,
    last_name: d.last ?? null,
    last_session: d.lastSessionMs !== undefined ? iso(d.lastSessionMs) : null,
    number_of_google_ad_ids: d.googleAdIds.length,
    number_of_IDFAs: d.idfas.length,
    number_of_IDFVs: d.idfvs.length,
    number_of_push_tokens: d.pushTokens,
    number_of_roku_ad_ids: d.rokuAdIds.length,
    number_of_windows_ad_ids: d.windowsAdIds.length,
    phone_number: d.phone ?? null,
    opted_into_push_at: d.optedIntoPushMs !== undefined ? iso(d.optedIntoPushMs) : null,
    unsubscribed_from_push_at: d.unsubscribedFromPushMs !== undefined ? iso(d.unsubscribedFromPushMs) : null,
    random_bucket: d.randomBucket,
    roku_ad_ids: d.rokuAdIds,
    session_count: d.sessions,
    timezone: d.timezone,
    in_app_purchase_total: d.purchaseTotal,
    user_aliases: d.aliases,
    windows_ad_ids: d.windowsAdIds,
    opted_in_to_emails_at: d.optedInToEmailsMs !== undefined ? iso(d.optedInToEmailsMs) : null,
    custom_attributes: d.custom,
  };
}

/** The API segment-export view of the same user: fields it lacks are absent. */
export function demoApiUser(i: number): Record<string, unknown> {
  const d = draw(i);
  const u: Record<string, unknown> = { braze_id: d.brazeId, external_id: d.externalId, created_at: iso(d.createdMs) };
  if (d.aliases.length > 0) u.user_aliases = d.aliases;
  if (d.first !== undefined) u.first_name = d.first;
  if (d.last !== undefined) u.last_name = d.last;
  if (d.email !== undefined) u.email = d.email;
  if (d.phone !== undefined) u.phone = d.phone;
  if (d.dob !== undefined) u.dob = d.dob;
  if (d.gender !== undefined) u.gender = d.gender;
  if (d.city !== undefined) u.home_city = d.city;
  if (d.country !== undefined) u.country = d.country;
  if (d.language !== undefined) u.language = d.language;
  u.time_zone = d.timezone;
  u.random_bucket = d.randomBucket;
  u.total_revenue = d.purchaseTotal;
  u.email_subscribe = d.unsubscribedFromEmailsMs !== undefined ? 'unsubscribed' : d.optedInToEmailsMs !== undefined ? 'opted_in' : 'subscribed';
  u.push_subscribe = d.unsubscribedFromPushMs !== undefined ? 'unsubscribed' : d.optedIntoPushMs !== undefined ? 'opted_in' : 'subscribed';
  u.custom_attributes = d.custom;
  if (d.devices.length > 0) u.devices = d.devices;
  if (d.sessions > 0) u.apps = [{ name: 'Demo', platform: d.idfvs.length > 0 ? 'ios' : 'android', version: d.appVersion, sessions: d.sessions, first_used: iso(d.firstSessionMs!), last_used: iso(d.lastSessionMs!) }];
  return u;
}

/** Every field `demoApiUser` can produce, in its order: a `fields_to_export` that selects all. */
export const DEMO_API_FIELDS = [
  'braze_id', 'external_id', 'created_at', 'user_aliases', 'first_name', 'last_name', 'email', 'phone', 'dob', 'gender', 'home_city',
  'country', 'language', 'time_zone', 'random_bucket', 'total_revenue', 'email_subscribe', 'push_subscribe', 'custom_attributes', 'devices', 'apps',
] as const;

/** Users `from`…`from + count - 1`, one at a time (never all in memory). */
export async function* demoUsers(count: number, shape: (i: number) => Record<string, unknown>, from = 0): AsyncGenerator<Record<string, unknown>> {
  for (let i = from; i < from + count; i++) yield shape(i);
}
