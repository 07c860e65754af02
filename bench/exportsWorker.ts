/**
 * The measured process of the exports benchmark (bench/exports.ts starts one per contender, "arm").
 * Gets the connection string of the Azurite the parent runs, sets up and warms its path, then answers
 * the parent's 'run' requests with timed runs and reports over IPC (bench/lib/ipc.ts).
 *
 * Arms, for one format (csv: segment user-data CSV in a zip; jsonl: API segment export, zip):
 * - engine:    writeExport (shared/exports) end to end — rows → formatted → packaged → uploaded create-only;
 * - ceiling:   the same rows, the same ~5,000-user chunks: raw csv-stringify / JSON.stringify, the same
 *              compression (deflate at the same level, on the thread pool, pipelined with formatting, and the
 *              CRC-32 a zip entry needs, native zlib.crc32), and a
 *              plain upload of the bytes (no condition) with the same block size / files in flight;
 * - stringify: raw csv-stringify / JSON.stringify of the same rows alone (no compression, no upload).
 *
 * Rows: a pool of `poolSize` demo users (shared/local/demoUsers.ts) built before timing and cycled,
 * so no arm pays for making rows; the engine reads them one by one from an async generator (its input
 * type), the raw arms slice chunks from the pool.
 */
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough } from 'node:stream';
import { promisify } from 'node:util';
import { crc32, deflateRaw as deflateRawCallback } from 'node:zlib';
import { randomBytes } from 'node:crypto';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { stringify } from 'csv-stringify/sync';
import { demoApiUser, demoUserDataRow, DEMO_API_FIELDS } from '../shared/local/demoUsers';
import { csvColumns } from '../shared/exports/csv';
import { writeExport, type UserRow } from '../shared/exports/writer';
import type { ExportJob } from '../shared/exports/job';
import { mapLimit } from '../shared/util/mapLimit';
import { childLog, sendResult, type ChildToParent, type ParentToChild } from './lib/ipc';
import type { Timed } from './lib/series';
import { collectGarbage } from './lib/memory';
import { timedRun } from './lib/timedRun';
import { Profiler, summarize } from './lib/profile';

export type ExportFormat = 'csv' | 'jsonl';
export type ExportArm = 'engine' | 'ceiling' | 'stringify';

export interface ExportsWorkerConfig {
  connectionString: string;
  format: ExportFormat;
  arm: ExportArm;
  users: number;
  warmupUsers: number;
  poolSize: number;
  usersPerFile: number;
  concurrency: number;
  level: number;
  blockSize: number;
  /** engine only: CPU-profile one extra run of `users` and write it here. */
  profileDir?: string;
}

export interface ExportArmResult {
  arm: ExportArm;
  format: ExportFormat;
  /** Peak RSS (VmHWM, reset before each run) of each timed run, MB; and RSS before the runs. */
  peakRssMB: number[];
  rssIdleMB: number;
  profile?: { file: string; rowsPerSec: number; summary: ReturnType<typeof summarize> };
}

const config: ExportsWorkerConfig = JSON.parse(process.env.BENCH_CONFIG ?? '{}');
const deflateRaw = promisify(deflateRawCallback);
const CUSTOM = ['favorite_color', 'plan', 'loyalty_points', 'interests', 'nickname'];
const columns = csvColumns('user-data', CUSTOM);
const CSV_JOB: ExportJob = { kind: 'csv', report: 'user-data', source: 'segment', sourceId: 'bench-segment', customAttributes: CUSTOM };
const JSONL_JOB: ExportJob = { kind: 'api-segment', segmentId: 'bench-segment', fields: [...DEMO_API_FIELDS], outputFormat: 'zip' };
const MB = (b: number) => b / 1048576;

function buildPool(): UserRow[] {
  const make = config.format === 'csv' ? demoUserDataRow : demoApiUser;
  return Array.from({ length: config.poolSize }, (_, i) => make(i));
}

async function* poolRows(pool: UserRow[], users: number): AsyncGenerator<UserRow> {
  for (let i = 0; i < users; i++) yield pool[i % pool.length];
}

/** Chunks of the pool, cycled: chunk k holds the rows the engine's k-th file holds. */
function* poolChunks(pool: UserRow[], users: number, size: number): Generator<UserRow[]> {
  for (let done = 0; done < users; done += size) {
    const n = Math.min(size, users - done);
    const chunk = new Array<UserRow>(n);
    for (let i = 0; i < n; i++) chunk[i] = pool[(done + i) % pool.length];
    yield chunk;
  }
}

/**
 * Raw csv-stringify: rows as arrays of their values in column order (measured ~2× faster than
 * csv-stringify's own `columns` lookup), 128 rows per call (measured about twice as fast as a whole
 * chunk per call: each slice's garbage dies young), the pieces joined — the engine's own tricks, minus
 * the guard and the casts.
 */
function rawCsv(chunk: UserRow[]): string {
  const { keys, custom, headers } = columns;
  const pieces: string[] = [stringify([headers])];
  for (let from = 0; from < chunk.length; from += 128) {
    const records: unknown[][] = [];
    for (let i = from; i < Math.min(chunk.length, from + 128); i++) {
      const row = chunk[i];
      const attrs = row.custom_attributes as Record<string, unknown>;
      records.push(keys.map((k, c) => (custom[c] ? attrs?.[k] : row[k])));
    }
    pieces.push(stringify(records));
  }
  return pieces.join('');
}

function rawJsonLines(chunk: UserRow[]): string {
  let out = '';
  for (const row of chunk) out += JSON.stringify(row) + '\n';
  return out;
}

async function clear(container: ContainerClient): Promise<void> {
  const names: string[] = [];
  for await (const b of container.listBlobsFlat()) names.push(b.name);
  await mapLimit(names, 16, (n) => container.deleteBlob(n));
}

/** One run of this arm over `users` rows; returns files and bytes written (stringify: bytes of text). */
async function runArm(container: ContainerClient, pool: UserRow[], users: number): Promise<{ files: number; bytes: number }> {
  const { format, arm, usersPerFile, concurrency, level, blockSize } = config;
  if (arm === 'engine') {
    const r = await writeExport(poolRows(pool, users), format === 'csv' ? CSV_JOB : JSONL_JOB, { container, usersPerFile, concurrency, compressionLevel: level, blockSize });
    if (r.rows !== users) throw new Error(`engine wrote ${r.rows} rows, expected ${users}`);
    return { files: r.files.length, bytes: r.bytes };
  }
  const text = format === 'csv' ? rawCsv : rawJsonLines;
  if (arm === 'stringify') {
    let bytes = 0;
    for (const chunk of poolChunks(pool, users, usersPerFile)) bytes += text(chunk).length;
    return { files: 0, bytes };
  }
  if (format === 'csv') {
    // One blob: the deflated chunks one after the other, streamed into a block upload.
    const out = new PassThrough({ highWaterMark: blockSize });
    const upload = container.getBlockBlobClient(`ceiling-${randomBytes(16).toString('hex')}.bin`).uploadStream(out, blockSize, concurrency);
    const pending: Promise<Buffer>[] = [];
    let bytes = 0;
    const flush = async () => {
      const b = await pending.shift()!;
      bytes += b.length;
      if (!out.write(b)) await once(out, 'drain');
    };
    for (const chunk of poolChunks(pool, users, usersPerFile)) {
      const raw = Buffer.from(text(chunk));
      crc32(raw); // what a zip entry needs besides the deflated bytes
      pending.push(deflateRaw(raw, { level }));
      if (pending.length >= 2) await flush();
    }
    while (pending.length > 0) await flush();
    out.end();
    await upload;
    return { files: 1, bytes };
  }
  // JSON lines: one blob per chunk, `concurrency` in flight.
  const inFlight = new Set<Promise<void>>();
  let bytes = 0;
  let files = 0;
  for (const chunk of poolChunks(pool, users, usersPerFile)) {
    const raw = Buffer.from(text(chunk));
    crc32(raw);
    const body = deflateRaw(raw, { level });
    const task = body.then(async (b) => {
      await container.getBlockBlobClient(`ceiling-${randomBytes(16).toString('hex')}.bin`).uploadData(b);
      bytes += b.length;
      files++;
    });
    inFlight.add(task);
    void task.then(() => inFlight.delete(task));
    while (inFlight.size >= concurrency) await Promise.race(inFlight);
  }
  await Promise.all(inFlight);
  return { files, bytes };
}


async function main(): Promise<void> {
  const service = BlobServiceClient.fromConnectionString(config.connectionString);
  const container = service.getContainerClient(`bench-exports-${config.format}-${config.arm}-${randomBytes(4).toString('hex')}`);
  await container.create();
  const pool = buildPool();
  const result: ExportArmResult = { arm: config.arm, format: config.format, peakRssMB: [], rssIdleMB: 0 };
  // Warm-up: the whole path (JIT, sockets, Azurite) on a smaller export.
  await runArm(container, pool, config.warmupUsers);
  await clear(container);
  collectGarbage();
  result.rssIdleMB = MB(process.memoryUsage().rss);
  process.send!({ t: 'ready' } satisfies ChildToParent);

  await new Promise<void>((resolveDone) => {
    process.on('message', (m: ParentToChild) => {
      if (m.t === 'run') {
        void (async () => {
          const timings: Timed[] = [];
          for (let i = 0; i < m.warm + m.count; i++) {
            const { t, peakRss } = await timedRun(() => runArm(container, pool, config.users));
            await clear(container);
            if (i >= m.warm) {
              timings.push(t);
              result.peakRssMB.push(MB(peakRss));
            }
          }
          process.send!({ t: 'done', timings } satisfies ChildToParent);
        })().catch((err) => {
          process.stderr.write(`exports worker (${config.format} ${config.arm}) failed: ${err?.stack ?? err}\n`);
          process.exit(1);
        });
      } else if (m.t === 'finish') resolveDone();
    });
  });

  if (config.profileDir && config.arm === 'engine') {
    mkdirSync(config.profileDir, { recursive: true });
    collectGarbage();
    const profiler = new Profiler();
    await profiler.start();
    const t0 = performance.now();
    await runArm(container, pool, config.users);
    const ms = performance.now() - t0;
    const profile = await profiler.stop();
    await clear(container);
    const file = join(config.profileDir, `exports-${config.format}-${config.users}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    result.profile = { file, rowsPerSec: (config.users / ms) * 1000, summary: summarize(profile, resolve(__dirname, '..', '..')) };
    childLog(`  profiled one ${config.users.toLocaleString('en-US')}-user ${config.format} export → ${file}`);
  }
  await container.delete();
  await sendResult(result);
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`exports worker (${config.format} ${config.arm}) failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
