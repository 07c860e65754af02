import { randomBytes, randomUUID } from 'node:crypto';
import { ExportRequestError } from './errors';

/**
 * Blob names (keys) of export files, under the destination's prefix:
 *
 *   API segment export  <prefix>/segment-export/<segment_id>/<YYYY-MM-dd>/<uuid>-<unix_ts>/<random>.zip|.gz   (Braze's documented key)
 *   CSV, zip            <prefix>/<source>-export/<id>/<YYYY-MM-dd>/<base>-<random>.zip                        (segment: Braze's documented key)
 *   CSV, gzip / none    <prefix>/<source>-export/<id>/<YYYY-MM-dd>/<base>-<random>/<base>-<nnnnn>.csv[.gz]    (one file per chunk)
 *
 * `<source>` is segment, campaign or canvas; `<base>` is `users` (user data and recipients) or
 * `emails` (email-address lists). Dates are UTC. Only the segment keys are documented by Braze; the
 * campaign/Canvas ones follow the same pattern (docs/exports.md).
 */
export type ExportSource = 'segment' | 'campaign' | 'canvas';

const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * An id that becomes one path segment: non-empty, at most 255 characters, no path separators, not
 * `.`/`..`, no control characters. Refused with an error naming the field — never cleaned up silently
 * (a "cleaned" id would write somewhere the customer did not ask for).
 */
export function checkId(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new ExportRequestError(field, 'must be a non-empty string');
  if (value.length > 255) throw new ExportRequestError(field, 'longer than 255 characters');
  if (CONTROL.test(value)) throw new ExportRequestError(field, 'contains a control character');
  if (value.includes('/') || value.includes('\\')) throw new ExportRequestError(field, 'contains a path separator (/ or \\)');
  if (value === '.' || value === '..') throw new ExportRequestError(field, `"${value}" is not a usable name`);
  if (value.trim() !== value) throw new ExportRequestError(field, 'starts or ends with white space');
  return value;
}

/**
 * The destination's prefix (folders are allowed): "" or segments joined by "/", each a valid id.
 * A trailing "/" is ignored; a leading "/", empty segments ("a//b"), "." and ".." are refused.
 */
export function checkPrefix(field: string, value: string | undefined): string {
  if (value === undefined || value === '') return '';
  const trimmed = value.endsWith('/') ? value.slice(0, -1) : value;
  if (trimmed.startsWith('/')) throw new ExportRequestError(field, 'must not start with "/"');
  for (const segment of trimmed.split('/')) {
    if (segment === '') throw new ExportRequestError(field, 'contains an empty folder name ("//")');
    checkId(field, segment);
  }
  return trimmed;
}

/** `<uuid>-<unix_ts>`, as in Braze's segment-export API response. */
export function newObjectPrefix(now: Date): string {
  return `${randomUUID()}-${Math.floor(now.getTime() / 1000)}`;
}

/** 32 hex characters: names that will not collide (create-only writes would refuse a collision anyway). */
export const randomName = () => randomBytes(16).toString('hex');

export const utcDate = (now: Date) => now.toISOString().slice(0, 10);

const join = (prefix: string, rest: string) => (prefix === '' ? rest : `${prefix}/${rest}`);

/** Folder of one API segment export: `<prefix>/segment-export/<segment_id>/<date>/<object_prefix>`. */
export function apiExportFolder(prefix: string, segmentId: string, now: Date, objectPrefix: string): string {
  return join(prefix, `segment-export/${segmentId}/${utcDate(now)}/${objectPrefix}`);
}

/** Folder of one CSV export: `<prefix>/<source>-export/<id>/<date>`. */
export function csvExportFolder(prefix: string, source: ExportSource, id: string, now: Date): string {
  return join(prefix, `${source}-export/${id}/${utcDate(now)}`);
}

/** `00001`: entry and chunk numbers sort in order up to 99,999 chunks (500 million users at 5,000). */
export const chunkNumber = (n: number) => String(n).padStart(5, '0');
