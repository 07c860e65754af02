import { stringify } from 'csv-stringify/sync';
import type { BufferPool } from '../util/bufferPool';
import { ByteBuilder } from './bytes';
import { ExportRequestError } from './errors';

/**
 * CSV exports: which columns, in which order, and how one chunk of user rows becomes CSV text.
 * Rows are plain objects keyed by the column names below; custom attributes sit under
 * `custom_attributes` and become one column each, named after the attribute (docs/exports.md).
 */
export const USER_DATA_COLUMNS = [
  'Appboy ID', 'country', 'created_at', 'devices', 'date_of_birth', 'email', 'unsubscribed_from_emails_at', 'user_id', 'first_name',
  'first_session', 'gender', 'google_ad_ids', 'city', 'IDFAs', 'IDFVs', 'language', 'last_app_version_used', 'last_name', 'last_session',
  'number_of_google_ad_ids', 'number_of_IDFAs', 'number_of_IDFVs', 'number_of_push_tokens', 'number_of_roku_ad_ids',
  'number_of_windows_ad_ids', 'phone_number', 'opted_into_push_at', 'unsubscribed_from_push_at', 'random_bucket', 'roku_ad_ids',
  'session_count', 'timezone', 'in_app_purchase_total', 'user_aliases', 'windows_ad_ids',
] as const;

export const EMAIL_ADDRESS_COLUMNS = ['user_id', 'first_name', 'last_name', 'email', 'unsubscribed_from_emails_at', 'opted_in_to_emails_at', 'user_aliases'] as const;

/** Campaign / Canvas recipient exports: the user-data columns, then these (names are ours: Braze does not document them). */
export const RECIPIENT_COLUMNS = ['variation_name', 'variation_api_id', 'in_control_group'] as const;

export type CsvReport = 'user-data' | 'email-addresses' | 'recipients';
export type CsvDelimiter = ',' | ':' | ';' | '|';
export const CSV_DELIMITERS: readonly CsvDelimiter[] = [',', ':', ';', '|'];

export interface CsvColumns {
  /** Header cells, in order. */
  headers: string[];
  /** Standard columns read `row[key]`; custom attribute columns read `row.custom_attributes[key]`. */
  keys: string[];
  custom: boolean[];
}

const CONTROL = /[\u0000-\u001f\u007f]/;

export function csvColumns(report: CsvReport, customAttributes: readonly string[] = []): CsvColumns {
  const standard: readonly string[] =
    report === 'email-addresses' ? EMAIL_ADDRESS_COLUMNS : report === 'recipients' ? [...USER_DATA_COLUMNS, ...RECIPIENT_COLUMNS] : USER_DATA_COLUMNS;
  const seen = new Set(standard);
  for (const [i, name] of customAttributes.entries()) {
    const field = `customAttributes[${i}]`;
    if (typeof name !== 'string' || name.length === 0) throw new ExportRequestError(field, 'must be a non-empty string');
    if (name.length > 255) throw new ExportRequestError(field, 'longer than 255 characters');
    if (CONTROL.test(name)) throw new ExportRequestError(field, 'contains a control character');
    // One header per column: a custom attribute named like a column (or twice) would make two.
    if (seen.has(name)) throw new ExportRequestError(field, `"${name}" is already a column of this export`);
    seen.add(name);
  }
  return {
    headers: [...standard, ...customAttributes],
    keys: [...standard, ...customAttributes],
    custom: [...standard.map(() => false), ...customAttributes.map(() => true)],
  };
}

/**
 * Formula-injection guard: a text cell starting with `-`, `=`, `+` or `@` gets an apostrophe in front,
 * so a spreadsheet shows it as text instead of evaluating it. Numbers are numbers (a negative number
 * stays `-5`); arrays and objects are JSON text, which starts with `[` or `{`.
 */
export function guardCell(s: string): string {
  const c = s.charCodeAt(0);
  // '-' 45, '=' 61, '+' 43, '@' 64
  return c === 45 || c === 61 || c === 43 || c === 64 ? `'${s}` : s;
}

/**
 * One cell's text. Empty for a missing value (null/undefined); booleans `true`/`false`; arrays and
 * objects as JSON text (`[]` for an empty list — "no ids" is a value, not a missing one); Dates as ISO 8601.
 */
export function cellText(v: unknown): string {
  switch (typeof v) {
    case 'string':
      return guardCell(v);
    case 'number':
      return Number.isFinite(v) ? String(v) : '';
    case 'boolean':
      return v ? 'true' : 'false';
    case 'bigint':
      return v.toString();
    case 'object':
      if (v === null) return '';
      if (v instanceof Date) return v.toISOString();
      return JSON.stringify(v);
    default:
      return '';
  }
}

/**
 * Rows per csv-stringify call. csv-stringify makes several short-lived arrays per cell; handing it a
 * whole 5,000-user chunk at once keeps all of them (and the chunk's cell arrays) alive through young-
 * generation collections, so they get promoted and the old space grows (measured: RSS ~300 MB instead
 * of ~180 for a CSV export, and half the speed). Small slices let each slice's garbage die young.
 */
const SLICE = 128;

/** Rows `from`…`to` as arrays of cell text in column order (guard and casts applied here, once per cell). */
function cells(rows: readonly Record<string, unknown>[], from: number, to: number, columns: CsvColumns): string[][] {
  const { keys, custom } = columns;
  const n = keys.length;
  const out = new Array<string[]>(to - from);
  for (let r = from; r < to; r++) {
    const row = rows[r];
    const attrs = row.custom_attributes as Record<string, unknown> | null | undefined;
    const line = new Array<string>(n);
    for (let c = 0; c < n; c++) line[c] = cellText(custom[c] ? attrs?.[keys[c]] : row[keys[c]]);
    out[r - from] = line;
  }
  return out;
}

/**
 * One CSV file: the header line, then one line per row, as UTF-8. csv-stringify does the quoting
 * (cells holding the delimiter, a quote, CR or LF are quoted, quotes doubled); lines end in `\n`.
 */
export function csvBytes(rows: readonly Record<string, unknown>[], columns: CsvColumns, delimiter: CsvDelimiter = ',', sizeHint = rows.length * 512, pool?: BufferPool): Buffer {
  const options = { delimiter };
  const out = new ByteBuilder(sizeHint, pool);
  out.append(stringify([columns.headers.map(guardCell)], options));
  for (let from = 0; from < rows.length; from += SLICE) out.append(stringify(cells(rows, from, Math.min(rows.length, from + SLICE), columns), options));
  return out.bytes();
}

/** The same as text (tests, small outputs). */
export const csvText = (rows: readonly Record<string, unknown>[], columns: CsvColumns, delimiter: CsvDelimiter = ','): string => csvBytes(rows, columns, delimiter).toString('utf8');
