import { createInterface } from 'node:readline';
import { createGunzip } from 'node:zlib';
import type { Readable } from 'node:stream';
import type { BlobClient } from '@azure/storage-blob';
import type { UserRow } from './writer';

/**
 * The production row source: user rows as JSON lines in a blob (the platform's user store writes one
 * per export job), optionally gzip-compressed, streamed line by line — never read whole.
 *
 * Format: UTF-8, one JSON object per line (`\n` or `\r\n`); blank lines are ignored. For CSV exports
 * the objects are keyed by the CSV column names with custom attributes under `custom_attributes`; for
 * API exports by the API field names (docs/exports.md).
 *
 * A malformed line fails the export (RowSourceError naming the blob and line number): skipping it
 * would deliver an export silently missing users, and the input is machine-written, so a bad line
 * means a bug upstream that a human must see.
 */
export class RowSourceError extends Error {
  constructor(
    readonly source: string,
    readonly line: number,
    reason: string,
  ) {
    super(`${source} line ${line}: ${reason}`);
    this.name = 'RowSourceError';
  }
}

/** Rows parsed from a stream of JSON lines (gzip when `gzip`). `source` names it in errors. */
export async function* jsonLinesRows(stream: Readable, source: string, options: { gzip?: boolean } = {}): AsyncGenerator<UserRow> {
  const input = options.gzip ? stream.pipe(createGunzip()) : stream;
  if (options.gzip) stream.on('error', (err) => input.destroy(err));
  const lines = createInterface({ input, crlfDelay: Infinity });
  let n = 0;
  try {
    for await (const line of lines) {
      n++;
      if (line.trim() === '') continue;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (err) {
        throw new RowSourceError(source, n, `not valid JSON (${(err as Error).message})`);
      }
      if (typeof row !== 'object' || row === null || Array.isArray(row)) throw new RowSourceError(source, n, `expected a JSON object, got ${Array.isArray(row) ? 'an array' : row === null ? 'null' : typeof row}`);
      yield row as UserRow;
    }
  } catch (err) {
    if (err instanceof RowSourceError) throw err;
    throw new RowSourceError(source, n + 1, `could not be read: ${(err as Error)?.message ?? err}`);
  } finally {
    lines.close();
    input.destroy();
  }
}

/** Rows from a blob of JSON lines (gzip-compressed when `gzip`, or when the name ends in `.gz`). */
export async function* blobRows(blob: BlobClient, options: { gzip?: boolean } = {}): AsyncGenerator<UserRow> {
  const download = await blob.download();
  const body = download.readableStreamBody as Readable | undefined;
  if (!body) throw new Error(`${blob.name}: the download has no body`);
  yield* jsonLinesRows(body, `${blob.containerName}/${blob.name}`, { gzip: options.gzip ?? blob.name.endsWith('.gz') });
}
