/**
 * Errors an export raises. Both name what went wrong precisely enough for a human to act on:
 * the request field that was refused, or the file that could not be written and what was written before.
 */
import type { StorageFailure } from '../storage/errors';

/** The export request itself is unusable (a bad id, delimiter, field list…): never retried. */
export class ExportRequestError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
    this.name = 'ExportRequestError';
  }
}

export interface WrittenFile {
  /** Blob name (key) in the destination container. */
  name: string;
  rows: number;
  /** Bytes of the blob as stored (compressed). */
  bytes: number;
  /** Zip archives holding several CSVs: the entries, in order. */
  entries?: { name: string; rows: number }[];
}

/**
 * Writing a file of the export failed. The export is incomplete: `written` lists the files that were
 * completely written before (they stay in the container — the message says so), `file` the one that failed.
 */
export class ExportWriteError extends Error {
  constructor(
    readonly file: string,
    readonly failure: StorageFailure,
    readonly written: readonly WrittenFile[],
    readonly code: string | undefined,
    reason: string,
  ) {
    super(
      `export incomplete: writing ${file} failed (${failure}${code ? `, ${code}` : ''}): ${reason}; ` +
        (written.length === 0 ? 'no file of this export was written' : `${written.length} file(s) of this export were written before and remain: ${written.slice(0, 5).map((f) => f.name).join(', ')}${written.length > 5 ? ', …' : ''}`),
    );
    this.name = 'ExportWriteError';
  }
}

/**
 * Reading the rows failed (a malformed line, a broken source) after the export had started: the
 * export is incomplete. `written` lists what was completely written before (it stays in the container).
 */
export class ExportReadError extends Error {
  constructor(
    readonly written: readonly WrittenFile[],
    cause: unknown,
  ) {
    super(
      `export incomplete: reading the user rows failed: ${(cause as Error)?.message ?? String(cause)}; ` +
        (written.length === 0 ? 'no file of this export was written' : `${written.length} file(s) of this export were written before and remain: ${written.slice(0, 5).map((f) => f.name).join(', ')}${written.length > 5 ? ', …' : ''}`),
      { cause },
    );
    this.name = 'ExportReadError';
  }
}
