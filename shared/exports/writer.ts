import type { ContainerClient } from '@azure/storage-blob';
import { classifyStorageError, storageErrorCode } from '../storage/errors';
import { csvText } from './csv';
import { ExportReadError, ExportWriteError, type WrittenFile } from './errors';
import { checkJob, type CheckedJob, type ExportJob } from './job';
import { jsonLinesText } from './jsonLines';
import { apiExportFolder, checkPrefix, chunkNumber, csvExportFolder, newObjectPrefix, randomName } from './naming';
import { DEFAULT_COMPRESSION_LEVEL, gzip, zipOne, ZipStream } from './packaging';

/**
 * The export writer: user rows in, files in the customer's container out.
 *
 * Rows are read once, in chunks of `usersPerFile` (5,000: Braze's "about 5,000 users per file"); each
 * chunk is formatted (CSV or JSON lines), packaged and uploaded create-only (`If-None-Match: *`: an
 * export never overwrites anything). Memory is bounded by the chunks in flight — at most `concurrency`
 * files being compressed/uploaded, or for a zip of CSVs two entries waiting for the archive and
 * `concurrency` blocks of `blockSize` being uploaded — never by the size of the export.
 *
 * A failure stops the export and throws an error naming the file that failed and listing what was
 * already written (ExportWriteError for storage, ExportReadError for the row source).
 */
export type UserRow = Record<string, unknown>;

export interface ExportOptions {
  container: ContainerClient;
  /** The destination's prefix ("" = container root). */
  prefix?: string;
  now?: Date;
  usersPerFile?: number;
  /** Files (or, for a zip of CSVs, upload blocks) in flight. */
  concurrency?: number;
  compressionLevel?: number;
  /** Block size of the streamed upload of a zip of CSVs. */
  blockSize?: number;
  onProgress?: (p: ExportProgress) => void;
  /**
   * Makes the random part of names (default: 32 random hex characters). A caller can derive names from
   * its job id, so a redelivered job meets its own files (create-only conflict) instead of writing a copy.
   */
  names?: () => string;
}

export interface ExportProgress {
  rows: number;
  files: number;
  bytes: number;
}

export interface ExportResult {
  /** Every file written, in order. */
  files: WrittenFile[];
  rows: number;
  bytes: number;
  /** The folder the export's files are in. */
  folder: string;
  /** API segment exports: `<uuid>-<unix_ts>`, the `object_prefix` of the API response. */
  objectPrefix?: string;
}

/** The API segment-export response (no download URL: the data is in the customer's storage). */
export const apiExportResponse = (objectPrefix: string) => ({ message: 'success', object_prefix: objectPrefix, url: null });

const CONTENT_TYPES = { zip: 'application/zip', gzip: 'application/gzip', csv: 'text/csv; charset=utf-8' } as const;

export async function writeExport(rows: AsyncIterable<UserRow> | Iterable<UserRow>, job: ExportJob, options: ExportOptions): Promise<ExportResult> {
  const checked = checkJob(job);
  const prefix = checkPrefix('prefix', options.prefix);
  const now = options.now ?? new Date();
  const usersPerFile = options.usersPerFile ?? 5000;
  if (!Number.isInteger(usersPerFile) || usersPerFile < 1) throw new RangeError('usersPerFile must be a positive whole number');
  const settings: Settings = {
    container: options.container,
    now,
    usersPerFile,
    concurrency: options.concurrency ?? 4,
    level: options.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL,
    blockSize: options.blockSize ?? 4 * 1024 * 1024,
    onProgress: options.onProgress,
    names: options.names ?? randomName,
  };
  if (checked.kind === 'api-segment') {
    const objectPrefix = newObjectPrefix(now);
    const folder = apiExportFolder(prefix, checked.segmentId, now, objectPrefix);
    const ext = checked.outputFormat === 'gzip' ? 'gz' : 'zip';
    const result = await chunkFiles(rows, settings, false, (chunk) => {
      const random = settings.names();
      const text = Buffer.from(jsonLinesText(chunk, checked.selected));
      const body = checked.outputFormat === 'gzip' ? gzip(text, settings.level) : zipOne(`${random}.jsonl`, text, { level: settings.level, mtime: now });
      return { name: `${folder}/${random}.${ext}`, body, contentType: CONTENT_TYPES[checked.outputFormat] };
    });
    return { ...result, folder, objectPrefix };
  }
  const folder = csvExportFolder(prefix, checked.source, checked.sourceId, now);
  const base = `${checked.base}-${settings.names()}`;
  if (checked.compression === 'zip') return { ...(await zipOfCsvs(rows, settings, checked, `${folder}/${base}.zip`, base)), folder };
  const gz = checked.compression === 'gzip';
  const result = await chunkFiles(rows, settings, true, (chunk, n) => {
    const text = Buffer.from(csvText(chunk, checked.columns, checked.delimiter));
    return { name: `${folder}/${base}/${checked.base}-${chunkNumber(n)}.csv${gz ? '.gz' : ''}`, body: gz ? gzip(text, settings.level) : Promise.resolve(text), contentType: gz ? CONTENT_TYPES.gzip : CONTENT_TYPES.csv };
  });
  return { ...result, folder };
}

interface Settings {
  container: ContainerClient;
  now: Date;
  usersPerFile: number;
  concurrency: number;
  level: number;
  blockSize: number;
  onProgress?: (p: ExportProgress) => void;
  names: () => string;
}

/** Rows in chunks of `size` (the last one shorter; none for no rows). */
async function* chunked(rows: AsyncIterable<UserRow> | Iterable<UserRow>, size: number): AsyncGenerator<UserRow[]> {
  let chunk: UserRow[] = [];
  for await (const row of rows) {
    chunk.push(row);
    if (chunk.length === size) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** Marks errors of the row source, so they are told apart from our own. */
class SourceFailure {
  constructor(readonly cause: unknown) {}
}
async function* guarded<T>(source: AsyncGenerator<T>): AsyncGenerator<T> {
  for (;;) {
    let next: IteratorResult<T>;
    try {
      next = await source.next();
    } catch (err) {
      throw new SourceFailure(err);
    }
    if (next.done) return;
    yield next.value;
  }
}

const CREATE_ONLY = { ifNoneMatch: '*' };

function writeFailure(file: string, err: unknown, written: WrittenFile[]): ExportWriteError {
  const failure = classifyStorageError(err);
  const code = storageErrorCode(err);
  const reason = failure === 'conflict' ? 'a blob of that name already exists (exports never overwrite)' : ((err as Error)?.message ?? String(err)).split('\n')[0];
  return new ExportWriteError(file, failure, written, code, reason);
}

/**
 * One file per chunk (API exports; CSV with gzip or no compression). Formatting runs here, on the main
 * thread; compression (thread pool) and upload of up to `concurrency` files overlap with it.
 */
async function chunkFiles(
  rows: AsyncIterable<UserRow> | Iterable<UserRow>,
  s: Settings,
  headerOnlyWhenEmpty: boolean,
  make: (chunk: UserRow[], n: number) => { name: string; body: Promise<Buffer>; contentType: string },
): Promise<Omit<ExportResult, 'folder'>> {
  const files: WrittenFile[] = [];
  const inFlight = new Set<Promise<void>>();
  let failed: { file: string; err: unknown } | undefined;
  let rowsDone = 0;
  let bytes = 0;
  let n = 0;
  let filesDone = 0;
  const written = () => files.filter((f) => f !== undefined);

  const start = (chunk: UserRow[]) => {
    const index = n++;
    const { name, body, contentType } = make(chunk, n);
    const task = (async () => {
      try {
        const data = await body;
        await s.container.getBlockBlobClient(name).uploadData(data, { conditions: CREATE_ONLY, blobHTTPHeaders: { blobContentType: contentType } });
        files[index] = { name, rows: chunk.length, bytes: data.length };
        rowsDone += chunk.length;
        bytes += data.length;
        filesDone++;
        s.onProgress?.({ rows: rowsDone, files: filesDone, bytes });
      } catch (err) {
        failed ??= { file: name, err };
      }
    })();
    inFlight.add(task);
    void task.then(() => inFlight.delete(task));
  };

  try {
    for await (const chunk of guarded(chunked(rows, s.usersPerFile))) {
      start(chunk);
      while (inFlight.size >= s.concurrency && !failed) await Promise.race(inFlight);
      if (failed) break;
    }
    if (n === 0 && headerOnlyWhenEmpty) start([]);
  } catch (err) {
    await Promise.all(inFlight);
    if (err instanceof SourceFailure) throw new ExportReadError(written(), err.cause);
    throw err;
  }
  await Promise.all(inFlight);
  if (failed) throw writeFailure(failed.file, failed.err, written());
  return { files: written(), rows: rowsDone, bytes };
}

/**
 * A segment/campaign/Canvas CSV export with zip compression: one archive, one CSV entry per chunk,
 * streamed into a block-blob upload while it is produced. The blob only appears when the block list is
 * committed (create-only) at the end: a failed export leaves no visible file, only uncommitted blocks,
 * which storage discards.
 */
async function zipOfCsvs(rows: AsyncIterable<UserRow> | Iterable<UserRow>, s: Settings, job: Extract<CheckedJob, { kind: 'csv' }>, name: string, base: string): Promise<Omit<ExportResult, 'folder'>> {
  const zip = new ZipStream({ level: s.level, mtime: s.now, maxPending: 2 });
  const entries: { name: string; rows: number }[] = [];
  let rowsDone = 0;
  let uploaded = 0;
  const upload = s.container
    .getBlockBlobClient(name)
    .uploadStream(zip.output, s.blockSize, s.concurrency, {
      conditions: CREATE_ONLY,
      blobHTTPHeaders: { blobContentType: CONTENT_TYPES.zip },
      onProgress: (p) => {
        uploaded = p.loadedBytes;
        s.onProgress?.({ rows: rowsDone, files: 0, bytes: uploaded });
      },
    })
    .then(
      () => undefined,
      (err: unknown) => {
        zip.abort(err instanceof Error ? err : new Error(String(err)));
        return { err };
      },
    );
  const addChunk = async (chunk: UserRow[]) => {
    const entry = `${base}-${chunkNumber(entries.length + 1)}.csv`;
    entries.push({ name: entry, rows: chunk.length });
    await zip.add(entry, Buffer.from(csvText(chunk, job.columns, job.delimiter)));
    rowsDone += chunk.length;
    s.onProgress?.({ rows: rowsDone, files: 0, bytes: uploaded });
  };
  try {
    for await (const chunk of guarded(chunked(rows, s.usersPerFile))) await addChunk(chunk);
    if (entries.length === 0) await addChunk([]);
    zip.end();
  } catch (err) {
    // Stop the upload (it would wait for the rest of the archive forever); nothing gets committed.
    zip.output.destroy(err instanceof Error ? err : new Error(String(err)));
    const outcome = await upload;
    if (err instanceof SourceFailure) throw new ExportReadError([], err.cause);
    if (outcome) throw writeFailure(name, outcome.err, []);
    throw err;
  }
  const outcome = await upload;
  if (outcome) throw writeFailure(name, outcome.err, []);
  return { files: [{ name, rows: rowsDone, bytes: uploaded, entries }], rows: rowsDone, bytes: uploaded };
}
