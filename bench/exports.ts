/**
 * The exports part of `npm run bench` (docs/benchmarks.md, "Exports"): rows/s of the export engine
 * against the raw ceiling, and peak RSS at one and ten million users. Runs in the orchestrating
 * process (bench/run.ts, which owns Azurite and the request counter); every contender runs in a fresh
 * child process (bench/exportsWorker.ts).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RequestCounter } from './lib/azuriteCounter';
import { series, type Series, type Timed } from './lib/series';
import { table, fmtInt, fmt1, fmt2 } from './lib/stats';
import type { ExportArm, ExportArmResult, ExportFormat, ExportsWorkerConfig } from './exportsWorker';
import { startArmProcess, type ArmProcess } from './lib/armProcess';

export const EXPORT_TARGETS = { ratio: 0.8, peakRssMB: 200 };

export interface ExportsOptions {
  connectionString: string;
  counter: RequestCounter;
  users: number;
  /** Users of the flat-memory run (engine only, once per format in `bigFormats`). */
  bigUsers: number;
  bigFormats: ExportFormat[];
  formats: ExportFormat[];
  rounds: Record<ExportFormat, number>;
  profileDir?: string;
}

interface FormatResult {
  format: ExportFormat;
  description: string;
  users: number;
  engine: Series;
  ceiling: Series;
  stringify: Series;
  ratio: number;
  engineBytesPerUser: number;
  ceilingBytesPerUser: number;
  peakRssMB: number;
  rssIdleMB: number;
  big?: { users: number; rowsPerSec: number; seconds: number; peakRssMB: number; files: number; bytes: number };
  profile?: ExportArmResult['profile'];
}

export interface ExportsResult {
  settings: { usersPerFile: number; concurrency: number; compressionLevel: number; blockSizeMiB: number; poolSize: number; warmupUsers: number };
  method: Record<string, string>;
  formats: FormatResult[];
}

const SETTINGS = { usersPerFile: 5000, concurrency: 4, level: 1, blockSize: 4 * 1024 * 1024, poolSize: 10_000, warmupUsers: 50_000 };

function startArm(cfg: ExportsWorkerConfig, counter: RequestCounter): ArmProcess<ExportArmResult> {
  // The engine must fit in 200 MB: the worker's own Node arguments, no larger heap.
  return startArmProcess<ExportArmResult>(join(__dirname, 'exportsWorker.js'), cfg, counter, `exports arm ${cfg.format} ${cfg.arm}`);
}

const DESCRIPTIONS: Record<ExportFormat, string> = {
  csv: 'segment user-data CSV (35 columns + 5 custom attributes), zip of 5,000-user CSVs',
  jsonl: 'API segment export, JSON lines (21 fields), one zip per 5,000 users',
};

async function measureFormat(format: ExportFormat, o: ExportsOptions): Promise<FormatResult> {
  const base = { connectionString: o.connectionString, format, users: o.users, warmupUsers: Math.min(SETTINGS.warmupUsers, o.users), poolSize: SETTINGS.poolSize, usersPerFile: SETTINGS.usersPerFile, concurrency: SETTINGS.concurrency, level: SETTINGS.level, blockSize: SETTINGS.blockSize };
  const kinds: ExportArm[] = ['engine', 'ceiling', 'stringify'];
  process.stderr.write(`▶ exports ${format}: ${fmtInt(o.users)} users; engine, ceiling and stringify-only each in its own process; ${o.rounds[format]} round(s), order rotating\n`);
  const started = Date.now();
  const arms = new Map<ExportArm, ArmProcess<ExportArmResult>>();
  // Started (and warmed) one after the other, so each warms up alone.
  for (const kind of kinds) {
    const arm = startArm({ ...base, arm: kind, profileDir: kind === 'engine' ? o.profileDir : undefined }, o.counter);
    await arm.ready;
    arms.set(kind, arm);
  }
  const timings = new Map<ExportArm, Timed[]>(kinds.map((k) => [k, []]));
  for (let r = 0; r < o.rounds[format]; r++) {
    for (let k = 0; k < kinds.length; k++) {
      const kind = kinds[(k + r) % kinds.length];
      // Raw stringify alone is for reference: once is enough.
      if (kind === 'stringify' && r > 0) continue;
      timings.get(kind)!.push(...(await arms.get(kind)!.run(0, 1)));
    }
  }
  const results = new Map<ExportArm, ExportArmResult>();
  for (const kind of kinds) results.set(kind, await arms.get(kind)!.finish());
  const s = (k: ExportArm) => series(timings.get(k)!, o.users);
  const engine = s('engine');
  const ceiling = s('ceiling');
  const stringify = s('stringify');
  const er = results.get('engine')!;
  process.stderr.write(`  ${format}: engine ${fmtInt(engine.eventsPerSec)} rows/s, ceiling ${fmtInt(ceiling.eventsPerSec)} rows/s, stringify ${fmtInt(stringify.eventsPerSec)} rows/s (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
  const result: FormatResult = {
    format,
    description: DESCRIPTIONS[format],
    users: o.users,
    engine,
    ceiling,
    stringify,
    ratio: engine.eventsPerSec / ceiling.eventsPerSec,
    engineBytesPerUser: engine.bytes / o.users,
    ceilingBytesPerUser: ceiling.bytes / o.users,
    peakRssMB: Math.max(...er.peakRssMB),
    rssIdleMB: er.rssIdleMB,
    profile: er.profile,
  };
  if (o.bigFormats.includes(format)) {
    process.stderr.write(`▶ exports ${format}: ${fmtInt(o.bigUsers)} users, engine only, once (fresh process)\n`);
    const t0 = Date.now();
    const arm = startArm({ ...base, arm: 'engine', users: o.bigUsers }, o.counter);
    await arm.ready;
    const [t] = await arm.run(0, 1);
    const r = await arm.finish();
    result.big = { users: o.bigUsers, rowsPerSec: (o.bigUsers / t.ms) * 1000, seconds: t.ms / 1000, peakRssMB: r.peakRssMB[0], files: t.files, bytes: t.bytes };
    process.stderr.write(`  ${format} ${fmtInt(o.bigUsers)}: ${fmtInt(result.big.rowsPerSec)} rows/s, peak RSS ${fmt1(result.big.peakRssMB)} MB (${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  }
  return result;
}

export async function runExportsBench(o: ExportsOptions): Promise<ExportsResult> {
  const formats: FormatResult[] = [];
  for (const format of o.formats) formats.push(await measureFormat(format, o));
  return {
    settings: { usersPerFile: SETTINGS.usersPerFile, concurrency: SETTINGS.concurrency, compressionLevel: SETTINGS.level, blockSizeMiB: SETTINGS.blockSize / 1048576, poolSize: SETTINGS.poolSize, warmupUsers: SETTINGS.warmupUsers },
    method: {
      input: `a pool of ${SETTINGS.poolSize.toLocaleString('en-US')} deterministic demo users (shared/local/demoUsers.ts) built before timing and cycled; the engine reads rows one by one from an async generator, the raw arms slice 5,000-row chunks`,
      engine: 'writeExport (shared/exports/writer.ts) end to end: rows → formatted → packaged → uploaded create-only (If-None-Match: *)',
      ceiling:
        'the same rows in the same 5,000-user chunks: raw csv-stringify (rows as arrays in column order, header row) / JSON.stringify per row, deflateRaw at the same level on the thread pool (two chunks ahead for CSV, files in flight for JSON) and the CRC-32 a zip entry needs (native zlib.crc32), plain upload of the bytes (CSV: one blob via uploadStream, same block size and concurrency; JSON: one blob per chunk via uploadData, same files in flight); no zip framing, no CRC, no formula guard, no field selection, no condition',
      stringify: 'raw csv-stringify / JSON.stringify of the same chunks alone: no compression, no upload',
      processes: 'each arm in a fresh child process, warmed up on 50,000 users, Azurite in the parent; timed runs rotate between arms',
      peakRss: 'Linux VmHWM of the engine process, reset through /proc/self/clear_refs before each timed run, read after it; the maximum over its runs (process, modules, the 10,000-row pool included)',
    },
    formats,
  };
}

export function exportsSection(r: ExportsResult, say: (s?: string) => void, targets: { target: string; measured: string; pass: boolean }[]): void {
  say(
    `Exports (${fmtInt(r.formats[0]?.users ?? 0)} users; ${fmtInt(r.settings.usersPerFile)} users per file/entry, deflate level ${r.settings.compressionLevel}, ${r.settings.concurrency} files or blocks in flight; each arm in its own process)`,
  );
  say(
    table(
      ['format', 'engine rows/s', '±%', 'ceiling rows/s', '±%', 'ratio', 'target', '', 'stringify only rows/s', 'engine CPU µs/row', 'ceiling CPU µs/row', 'Azurite CPU µs/row (eng/ceil)', 'bytes/user (eng/ceil)', 'other load'],
      r.formats.map((f) => [
        f.format,
        fmtInt(f.engine.eventsPerSec),
        fmt1(f.engine.spreadPct),
        fmtInt(f.ceiling.eventsPerSec),
        fmt1(f.ceiling.spreadPct),
        fmt2(f.ratio),
        `≥ ${EXPORT_TARGETS.ratio}`,
        f.ratio >= EXPORT_TARGETS.ratio ? 'PASS' : 'MISS',
        fmtInt(f.stringify.eventsPerSec),
        fmt2(f.engine.cpuMicrosPerEvent),
        fmt2(f.ceiling.cpuMicrosPerEvent),
        `${fmt2(f.engine.azuriteCpuMicrosPerEvent)} / ${fmt2(f.ceiling.azuriteCpuMicrosPerEvent)}`,
        `${fmt1(f.engineBytesPerUser)} / ${fmt1(f.ceilingBytesPerUser)}`,
        fmt2(Math.max(f.engine.foreignCores, f.ceiling.foreignCores)),
      ]),
    ),
  );
  say();
  say(
    table(
      ['format', 'users', 'engine rows/s', 'seconds', 'files', 'MB stored', 'RSS idle MB', 'peak RSS MB', 'target'],
      r.formats.flatMap((f) => [
        [f.format, fmtInt(f.users), fmtInt(f.engine.eventsPerSec), fmt1(f.engine.medianMs / 1000), fmtInt(f.engine.files), fmt1(f.engine.bytes / 1048576), fmt1(f.rssIdleMB), fmt1(f.peakRssMB), `≤ ${EXPORT_TARGETS.peakRssMB}`],
        ...(f.big ? [['', fmtInt(f.big.users), fmtInt(f.big.rowsPerSec), fmt1(f.big.seconds), fmtInt(f.big.files), fmt1(f.big.bytes / 1048576), '', fmt1(f.big.peakRssMB), `≤ ${EXPORT_TARGETS.peakRssMB}`]] : []),
      ]),
    ),
  );
  say('   Ceiling = raw csv-stringify / JSON.stringify of the same rows and chunks + the same deflate level and CRC-32 + a plain upload of the bytes (no zip');
  say('   framing, no guard, no field selection, no create-only condition). Peak RSS = VmHWM of the engine process during an export. "files" for CSV: one zip (entries inside).');
  for (const f of r.formats) {
    targets.push({ target: `exports ${f.format} ≥ ${EXPORT_TARGETS.ratio}× raw stringify + compress + upload`, measured: `${fmt2(f.ratio)}×`, pass: f.ratio >= EXPORT_TARGETS.ratio });
    const peaks = [f.peakRssMB, ...(f.big ? [f.big.peakRssMB] : [])];
    targets.push({
      target: `exports ${f.format} peak RSS ≤ ${EXPORT_TARGETS.peakRssMB} MB at ${[f.users, ...(f.big ? [f.big.users] : [])].map((u) => `${u / 1e6}M`).join(' and ')} users`,
      measured: peaks.map((p) => `${fmt1(p)} MB`).join(' / '),
      pass: Math.max(...peaks) <= EXPORT_TARGETS.peakRssMB,
    });
  }
  for (const f of r.formats) {
    if (!f.profile) continue;
    say();
    say(`Profile (exports engine, ${f.format}): ${fmtInt(f.profile.rowsPerSec)} rows/s under the profiler, ${f.profile.summary.totalMs} ms sampled → ${f.profile.file}`);
    say(table(['self time', 'ms', '%'], f.profile.summary.topSelf.slice(0, 15).map((x) => [x.frame, fmt1(x.ms), fmt1(x.pct)])).replace(/^/gm, '    '));
    say(table(['by area', 'ms', '%'], f.profile.summary.byArea.slice(0, 10).map((x) => [x.frame, fmt1(x.ms), fmt1(x.pct)])).replace(/^/gm, '    '));
  }
}

/** The results file of an earlier run, if there is a readable one. */
export function readResults(file: string): Record<string, unknown> | undefined {
  try {
    return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * After `--only exports`: the file just written holds only this run; put its exports figures (and
 * targets, table, run facts) into the earlier results, which keep every other figure as they were.
 */
export function mergeExportsInto(file: string, previous: Record<string, unknown>): void {
  const fresh = JSON.parse(readFileSync(file, 'utf8'));
  const merged = {
    ...previous,
    targets: { ...(previous.targets as object), ...fresh.targets },
    exports: { ...fresh.exports, run: { generatedAt: fresh.generatedAt, revision: fresh.revision, machine: fresh.machine, workerNodeArguments: fresh.workerNodeArguments, quick: fresh.quick, seconds: fresh.seconds, loadAverage: fresh.loadAverage }, table: fresh.table },
  };
  writeFileSync(file, JSON.stringify(merged, null, 2) + '\n');
}
