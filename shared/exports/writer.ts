import { Readable } from 'node:stream';
import type { ContainerClient } from '@azure/storage-blob';
import { classifyStorageError, storageErrorCode } from '../storage/errors';
import { csvBytes } from './csv';
import { ExportReadError, ExportWriteError, type WrittenFile } from './errors';
import { checkJob, type ExportJob } from './job';
import { jsonLinesBytes } from './jsonLines';
import { apiExportFolder, checkId, checkPrefix, chunkNumber, csvExportFolder, newObjectPrefix, randomName } from './naming';
import { DEFAULT_COMPRESSION_LEVEL, gzip, zipOne, ZipStream } from './packaging';
import { BufferPool } from '../util/bufferPool';

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
  const concurrency = options.concurrency ?? 4;
  if (!Number.isInteger(concurrency) || concurrency < 1) throw new RangeError('concurrency must be a positive whole number');
  const makeName = options.names ?? randomName;
  // Each file's buffers are sized after the previous one's (files of one export are alike): no regrowing.
  let hint: number | undefined;
  let packedHint: number | undefined;
  const sized = (b: Buffer) => {
    hint = Math.ceil(b.length * 1.1) + 4096;
    return b;
  };
  const packedSized = <T extends Buffer | Buffer[]>(b: T): T => {
    const length = Array.isArray(b) ? b.reduce((n, x) => n + x.length, 0) : b.length;
    packedHint = Math.ceil(length * 1.1) + 4096;
    return b;
  };
  const settings: Settings = {
    container: options.container,
    now,
    usersPerFile,
    concurrency,
    level: options.compressionLevel ?? DEFAULT_COMPRESSION_LEVEL,
    blockSize: options.blockSize ?? 4 * 1024 * 1024,
    onProgress: options.onProgress,
    // A caller's names become path segments too: checked like ids.
    names: () => checkId('names()', makeName()),
    // File bodies are Node Buffers (external memory), freed only by a major GC: without reuse, a few
    // dozen MB of finished bodies wait for one. A settled body hands its memory to the next file.
    // Kept: up to 24 MB of free buffers, more than the ~8 in circulation need, so none is dropped.
    pool: new BufferPool({ maxKeptBytes: 24 * 1024 * 1024 }),
  };
  const { pool } = settings;
  if (checked.kind === 'api-segment') {
    const objectPrefix = newObjectPrefix(now);
    const folder = apiExportFolder(prefix, checked.segmentId, now, objectPrefix);
    const ext = checked.outputFormat === 'gzip' ? 'gz' : 'zip';
    const result = await chunkFiles(rows, settings, false, (chunk) => {
      const random = settings.names();
      const text = sized(jsonLinesBytes(chunk, checked.selected, hint, pool));
      const pack = async (t: Buffer) =>
        packedSized(checked.outputFormat === 'gzip' ? await gzip(t, settings.level, pool, packedHint) : await zipOne(`${random}.jsonl`, t, { level: settings.level, mtime: now, pool, sizeHint: packedHint }));
      return { name: `${folder}/${random}.${ext}`, text, pack, contentType: CONTENT_TYPES[checked.outputFormat] };
    });
    return { ...result, folder, objectPrefix };
  }
  const folder = csvExportFolder(prefix, checked.source, checked.sourceId, now);
  const base = `${checked.base}-${settings.names()}`;
  if (checked.compression === 'zip') return { ...(await zipOfCsvs(rows, settings, `${folder}/${base}.zip`, base, (chunk) => sized(csvBytes(chunk, checked.columns, checked.delimiter, hint, pool)))), folder };
  const gz = checked.compression === 'gzip';
  const result = await chunkFiles(rows, settings, true, (chunk, n) => {
    const text = sized(csvBytes(chunk, checked.columns, checked.delimiter, hint, pool));
    const pack = gz ? async (t: Buffer) => packedSized(await gzip(t, settings.level, pool, packedHint)) : async (t: Buffer) => t;
    return { name: `${folder}/${base}/${checked.base}-${chunkNumber(n)}.csv${gz ? '.gz' : ''}`, text, pack, contentType: gz ? CONTENT_TYPES.gzip : CONTENT_TYPES.csv };
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
  pool: BufferPool;
}

/** Rows in chunks of `size` (the last one shorter; none for no rows). */
async function* chunked(rows: AsyncIterable<UserRow> | Iterable<UserRow>, size: number): AsyncGenerator<UserRow[]> {
  // Allocated at full size: a chunk grown by push leaves copies behind that outlive young-generation GCs.
  let chunk = new Array<UserRow>(size);
  let n = 0;
  for await (const row of rows) {
    chunk[n++] = row;
    if (n === size) {
      yield chunk;
      chunk = new Array<UserRow>(size);
      n = 0;
    }
  }
  if (n > 0) {
    chunk.length = n;
    yield chunk;
  }
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
 * Uncompressed files waiting for or in compression. The uncompressed text is most of a file's memory
 * (~4 MB for 5,000 users; compressed ~1 MB): two keep the thread pool busy beside the formatting
 * (measured: same rows/s as four, ~20 MB less peak RSS), while uploads keep `concurrency` in flight.
 */
const MAX_COMPRESSING = 2;
const settled = (p: Promise<unknown>) => p.then(
  () => undefined,
  () => undefined,
);

/**
 * One file per chunk (API exports; CSV with gzip or no compression). Formatting runs here, on the main
 * thread; compression (thread pool, MAX_COMPRESSING files) and uploads (`concurrency` files) overlap with it.
 */
async function chunkFiles(
  rows: AsyncIterable<UserRow> | Iterable<UserRow>,
  s: Settings,
  headerOnlyWhenEmpty: boolean,
  make: (chunk: UserRow[], n: number) => { name: string; text: Buffer; pack: (text: Buffer) => Promise<Buffer | Buffer[]>; contentType: string },
): Promise<Omit<ExportResult, 'folder'>> {
  const files: WrittenFile[] = [];
  const inFlight = new Set<Promise<void>>();
  const compressing = new Set<Promise<unknown>>();
  let failed: { file: string; err: unknown } | undefined;
  let rowsDone = 0;
  let bytes = 0;
  let n = 0;
  let filesDone = 0;
  const written = () => files.filter((f) => f !== undefined);

  const start = (chunk: UserRow[]) => {
    const index = n++;
    const { name, text, pack, contentType } = make(chunk, n);
    const packed = pack(text);
    const done = settled(packed);
    compressing.add(done);
    void done.then(() => compressing.delete(done));
    const task = (async () => {
      try {
        const data = await packed;
        // Compression has read the text: its memory can serve the next file (uncompressed: after the upload).
        if (data !== text) s.pool.release(text);
        const blob = s.container.getBlockBlobClient(name);
        const options = { conditions: CREATE_ONLY, blobHTTPHeaders: { blobContentType: contentType } };
        let size: number;
        if (Array.isArray(data)) {
          size = data.reduce((sum, b) => sum + b.length, 0);
          await blob.upload(() => Readable.from(data, { objectMode: false }), size, options);
        } else {
          size = data.length;
          await blob.uploadData(data, options);
        }
        // The upload has settled: the body's memory can serve the next file.
        for (const b of Array.isArray(data) ? data : [data]) if (b.length >= 65536) s.pool.release(b);
        files[index] = { name, rows: chunk.length, bytes: size };
        rowsDone += chunk.length;
        bytes += size;
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
      while ((inFlight.size >= s.concurrency || compressing.size >= MAX_COMPRESSING) && !failed) await Promise.race([...inFlight, ...compressing]);
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
async function zipOfCsvs(rows: AsyncIterable<UserRow> | Iterable<UserRow>, s: Settings, name: string, base: string, format: (chunk: UserRow[]) => Buffer): Promise<Omit<ExportResult, 'folder'>> {
  const zip = new ZipStream({ level: s.level, mtime: s.now, maxPending: 2, pool: s.pool });
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
    await zip.add(entry, format(chunk));
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
  s.onProgress?.({ rows: rowsDone, files: 1, bytes: uploaded });
  return { files: [{ name, rows: rowsDone, bytes: uploaded, entries }], rows: rowsDone, bytes: uploaded };
}
