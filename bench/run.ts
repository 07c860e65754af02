/**
 * `npm run bench`: throughput, memory and cost figures for the Currents pipeline, all measured in one
 * run on this machine. See docs/benchmarks.md.
 *
 * This process runs Azurite (in memory, in-process, as the tests do) and counts every request that
 * reaches it. Each scenario runs in a fresh child process (bench/worker.ts) that gets Azurite's
 * connection string and does only the measured work, so its CPU and memory are the pipeline's alone.
 */
import { fork, execSync } from 'node:child_process';
import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, resolve, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { startAzurite } from '../shared/local/azurite';
import { loadSettings } from '../shared/config/settings';
import { RequestCounter } from './lib/azuriteCounter';
import type { ChildToParent, ParentToChild } from './lib/ipc';
import { currentsCatalog } from '../shared/currents/schemas/catalog';
import type { RequestCounts } from './lib/ipc';
import type { WorkerConfig, ArmKind, ArmResult } from './worker';
import { series, type Series, type Timed } from './lib/series';
import { ENCODERS, ENCODER_DESCRIPTIONS, type EncoderName } from './lib/ceiling';
import { scaleChart } from './lib/chart';
import { table, fmtInt, fmt1, fmt2, round } from './lib/stats';
import type { ProfileSummary } from './lib/profile';
// Exports (issue 3): a part of its own, see bench/exports.ts.
import { runExportsBench, exportsSection, readResults, mergeExportsInto, type ExportsResult } from './exports';
import type { ExportFormat } from './exportsWorker';
import { childExecArgv, deployedWorkerArguments } from './lib/workerArgs';
import { startArmProcess, type ArmProcess } from './lib/armProcess';

const ROOT = resolve(__dirname, '..', '..');

const TARGETS = {
  ratioNull: 0.8,
  ratioDeflate: 0.7,
  peakRssMB: 256,
  peakRssBatch: 100_000,
  /** "≈ 0 Key Vault reads per million events at steady state": at most one. */
  secretReadsPerMillion: 1,
};

interface ThroughputCodec {
  pipeline: Series;
  ceiling: Series;
  ratio: number;
  ceilingEncoder: EncoderName;
  encoders: Record<EncoderName, { medianMs: number; eventsPerSec: number; bytes: number; spreadPct: number }>;
  ceilingByEncoder: Record<EncoderName, { eventsPerSec: number; spreadPct: number; cpuMicrosPerEvent: number }>;
  uploadOnlyEncoder: EncoderName;
  uploadOnly: Series;
  secretReads: { total: number; steadyState: number };
  filesPerBatch: number;
}
interface ThroughputResult {
  batchEvents: number;
  messages: number;
  eventsPerMessage: number;
  eventTypes: number;
  concurrency: number;
  perCodec: Record<string, ThroughputCodec>;
}
interface ScaleResult {
  batchEvents: number;
  messages: number;
  eventsPerMessage: number;
  codec: string;
  filesPerBatch: number;
  bytesPerBatch: number;
  pipeline: Series;
  ceiling?: Series;
  ratio?: number;
  memory: {
    rssAfterSetupMB: number;
    heapAfterSetupMB: number;
    rssWithInputMB: number;
    heapWithInputMB: number;
    inputHeapMB: number;
    externalWithInputMB: number;
    coldPeakRssMB: number;
    coldPeakHeapMB: number;
    warmPeakRssMB: number;
    warmPeakHeapMB: number;
    warmPeakExternalMB: number;
    peakRssMB: number;
    peakRssResettable: boolean;
  };
  secretReads: { firstBatch: number; steadyState: number; steadyStateBatches: number; steadyStateEvents: number };
  requestsFirstBatch: RequestCounts;
}

function runWorker<T>(cfg: WorkerConfig, counter: RequestCounter, label: string): Promise<T> {
  return new Promise((resolvePromise, reject) => {
    const started = Date.now();
    process.stderr.write(`▶ ${label}\n`);
    const child = fork(join(__dirname, 'worker.js'), [], {
      execArgv: childExecArgv(),
      env: { ...process.env, BENCH_CONFIG: JSON.stringify(cfg) },
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    let result: T | undefined;
    child.on('message', (m: ChildToParent) => {
      if (m.t === 'ask') {
        const cpu = process.cpuUsage();
        child.send({ t: 'reply', id: m.id, data: { requests: counter.snapshot(), azuriteCpuMicros: cpu.user + cpu.system } } satisfies ParentToChild);
      } else if (m.t === 'log') process.stderr.write(`${m.line}\n`);
      else if (m.t === 'result') result = m.data as T;
    });
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0 && result !== undefined) {
        process.stderr.write(`  (${((Date.now() - started) / 1000).toFixed(1)} s)\n`);
        resolvePromise(result);
      } else reject(new Error(`${label}: worker exited with code ${code}`));
    });
  });
}

/** Timed runs per block in figure 1 (see throughputFor). */
const BLOCK = 3;

interface Arm extends ArmProcess<ArmResult> {
  kind: ArmKind;
}

/** A figure-1 contender in its own process: set up and warmed on start, then one timed run per run(). */
function startArm(cfg: WorkerConfig, counter: RequestCounter): Arm {
  return { kind: cfg.arm!, ...startArmProcess<ArmResult>(join(__dirname, 'worker.js'), cfg, counter, `figure 1 arm ${cfg.arm} (${cfg.codecs[0]})`) };
}

/** Figure 1 for one codec: every arm in its own process, one run at a time, the order rotating. */
async function throughputFor(codec: 'null' | 'deflate', base: Omit<WorkerConfig, 'mode' | 'codecs' | 'arm'>, counter: RequestCounter): Promise<ThroughputCodec> {
  const kinds: ArmKind[] = ['pipeline', ...ENCODERS.map((e) => `ceiling:${e}` as ArmKind), 'upload'];
  // Started one after the other: each measures its encoder alone and warms up while the others are idle.
  const arms: Arm[] = [];
  for (const kind of kinds) {
    const arm = startArm({ ...base, mode: 'arm', codecs: [codec], arm: kind, warmups: Math.max(3, base.warmups) }, counter);
    await arm.ready;
    arms.push(arm);
  }
  // Rounds of blocks: each arm in turn (the order rotating) does one untimed run, then BLOCK timed
  // runs back to back; drift between rounds hits every arm alike.
  const timings = new Map<ArmKind, Timed[]>(kinds.map((k) => [k, []]));
  const rounds = Math.max(1, Math.ceil(base.reps / BLOCK));
  for (let r = 0; r < rounds; r++) {
    for (let k = 0; k < arms.length; k++) {
      const arm = arms[(k + r) % arms.length];
      timings.get(arm.kind)!.push(...(await arm.run(1, BLOCK)));
    }
  }
  const results = new Map<ArmKind, ArmResult>();
  for (const a of arms) results.set(a.kind, await a.finish());
  const s = (k: ArmKind) => series(timings.get(k)!, base.batchEvents);
  const pipeline = s('pipeline');
  const ceilings = Object.fromEntries(ENCODERS.map((e) => [e, s(`ceiling:${e}`)])) as Record<EncoderName, Series>;
  const ceilingEncoder = ENCODERS.reduce((best, e) => (ceilings[e].medianMs < ceilings[best].medianMs ? e : best), ENCODERS[0]);
  const ceiling = ceilings[ceilingEncoder];
  if (pipeline.files !== ceiling.files) throw new Error(`ceiling wrote ${ceiling.files} files, pipeline ${pipeline.files}: the plans differ`);
  process.stderr.write(`  ${codec}: pipeline ${fmtInt(pipeline.eventsPerSec)} events/s, ceiling (${ceilingEncoder}) ${fmtInt(ceiling.eventsPerSec)} events/s\n`);
  const secretReads = results.get('pipeline')!.secretReads!;
  return {
    pipeline,
    ceiling,
    ratio: pipeline.eventsPerSec / ceiling.eventsPerSec,
    ceilingEncoder,
    encoders: Object.fromEntries(ENCODERS.map((e) => [e, results.get(`ceiling:${e}`)!.encodeOnly!])) as ThroughputCodec['encoders'],
    ceilingByEncoder: Object.fromEntries(ENCODERS.map((e) => [e, { eventsPerSec: ceilings[e].eventsPerSec, spreadPct: ceilings[e].spreadPct, cpuMicrosPerEvent: ceilings[e].cpuMicrosPerEvent }])) as ThroughputCodec['ceilingByEncoder'],
    uploadOnly: s('upload'),
    uploadOnlyEncoder: 'encodeContainerFile',
    secretReads: { total: secretReads.total, steadyState: secretReads.duringRuns },
    filesPerBatch: results.get('pipeline')!.filesPerBatch,
  };
}

function gitRevision(): string {
  try {
    const rev = execSync('git rev-parse --short HEAD', { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
    const dirty = execSync('git status --porcelain', { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim() !== '';
    return dirty ? `${rev}+uncommitted` : rev;
  } catch {
    return 'unknown';
  }
}

function repsFor(batchEvents: number, quick: boolean): { warmups: number; reps: number; ceilingReps: number } {
  if (quick) return { warmups: 2, reps: 3, ceilingReps: 3 };
  if (batchEvents <= 2_000) return { warmups: 3, reps: 15, ceilingReps: 9 };
  if (batchEvents <= 10_000) return { warmups: 2, reps: 9, ceilingReps: 7 };
  if (batchEvents <= 50_000) return { warmups: 2, reps: 7, ceilingReps: 5 };
  return { warmups: 2, reps: 5, ceilingReps: 4 };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      sizes: { type: 'string', default: '1000,5000,20000,100000' },
      'throughput-events': { type: 'string', default: '20000' },
      'events-per-message': { type: 'string', default: '100' },
      only: { type: 'string' },
      'wait-quiet': { type: 'boolean', default: false },
      profile: { type: 'boolean' },
      'no-profile': { type: 'boolean', default: false },
      'out-dir': { type: 'string', default: join(ROOT, 'bench') },
      help: { type: 'boolean', default: false },
      'export-users': { type: 'string', default: '1000000' },
      'export-big-users': { type: 'string', default: '10000000' },
      'export-big': { type: 'string', default: 'csv,jsonl' },
      'export-formats': { type: 'string', default: 'csv,jsonl' },
    },
  });
  if (values.help) {
    console.log(`npm run bench [-- options]
  --quick                    fewer repetitions (a smoke run, numbers noisier)
  --sizes 1000,5000,...      batch sizes (events per batch) for the memory/scale figures
  --throughput-events N      batch size of the side-by-side throughput figure (default 20000)
  --events-per-message N     events per Service Bus message (default 100)
  --only throughput|scale|exports   run one part only (targets of the other parts are not judged)
  --export-users N           users per export in the exports throughput figure (default 1000000)
  --export-big-users N       users of the flat-memory export run (default 10000000)
  --export-big csv,jsonl     formats that get the flat-memory run (engine only, once; default both; none for none)
  --export-formats csv,jsonl export formats to measure (default both)
  --wait-quiet               before each timed run, wait (≤ 3 s) for other processes to use < 0.25 core
  --profile / --no-profile   CPU-profile the pipeline (default: only when a throughput target is missed)
  --out-dir DIR              where results.json and chart.svg go (default bench/); CPU profiles go to .local/bench-profiles/
Any app setting (docs/settings.md) can be set in the environment, e.g. DESTINATION_CONCURRENCY=16.`);
    return;
  }
  const quick = values.quick!;
  const quietWaitMs = values['wait-quiet'] ? 3000 : 0;
  const sizes = values.sizes!.split(',').map((s) => Number(s.trim()));
  const throughputEvents = Number(values['throughput-events']);
  const perMessage = Number(values['events-per-message']);
  if ([...sizes, throughputEvents, perMessage].some((n) => !Number.isInteger(n) || n <= 0)) throw new Error('sizes must be positive whole numbers');
  if (values.only !== undefined && !['throughput', 'scale', 'exports'].includes(values.only)) throw new Error('--only takes throughput, scale or exports');
  const only = (part: string) => values.only === undefined || values.only === part;
  const outDir = resolve(values['out-dir']!);
  mkdirSync(outDir, { recursive: true });
  const settings = loadSettings({ ...process.env, APP_STORAGE_CONNECTION_STRING: 'UseDevelopmentStorage=true', LOCAL_SECRETS_FILE: 'x', KEY_VAULT_URL: '' });
  const started = Date.now();
  const loadAtStart = loadavg();

  const counter = new RequestCounter().start();
  const azurite = await startAzurite();
  const connectionString = azurite.connectionString;
  try {
    // 1. Throughput, pipeline vs ceiling, both codecs.
    let throughput: ThroughputResult | undefined;
    if (only('throughput')) {
      const t = repsFor(throughputEvents, quick);
      process.stderr.write(`▶ throughput: ${fmtInt(throughputEvents)} events/batch, codecs null and deflate; pipeline, 3 ceilings and upload-only each in its own process; ${t.reps} interleaved repetitions after ${t.warmups} warm-ups\n`);
      const started1 = Date.now();
      const base = { connectionString, batchEvents: throughputEvents, eventsPerMessage: perMessage, warmups: t.warmups, reps: t.reps, quietWaitMs };
      const perCodec = { null: await throughputFor('null', base, counter), deflate: await throughputFor('deflate', base, counter) };
      process.stderr.write(`  (${((Date.now() - started1) / 1000).toFixed(1)} s)\n`);
      throughput = { batchEvents: throughputEvents, messages: Math.ceil(throughputEvents / perMessage), eventsPerMessage: perMessage, eventTypes: currentsCatalog().availableIn(10).length, concurrency: settings.DESTINATION_CONCURRENCY, perCodec };
    }

    // 2–4. One fresh process per batch size: memory, throughput, requests, secret reads.
    const scale: ScaleResult[] = [];
    if (only('scale')) {
      for (const size of sizes) {
        const r = repsFor(size, quick);
        const result = await runWorker<ScaleResult>(
          { mode: 'scale', connectionString, batchEvents: size, eventsPerMessage: perMessage, codecs: ['null'], warmups: r.warmups, reps: r.reps, quietWaitMs },
          counter,
          `scale: ${fmtInt(size)} events/batch (fresh process)`,
        );
        // The ceiling at this size, in a process of its own (sharing one with the pipeline skews both),
        // with the encoder that won figure 1 (avsc's toBuffer when figure 1 did not run).
        const encoder: EncoderName = throughput?.perCodec.null.ceilingEncoder ?? 'avscToBuffer';
        const arm = startArm({ mode: 'arm', arm: `ceiling:${encoder}`, connectionString, batchEvents: size, eventsPerMessage: perMessage, codecs: ['null'], warmups: r.warmups, reps: r.ceilingReps, quietWaitMs }, counter);
        await arm.ready;
        const runs = await arm.run(0, r.ceilingReps); // right after its warm-up: no idle gap
        await arm.finish();
        result.ceiling = series(runs, size);
        result.ratio = result.pipeline.eventsPerSec / result.ceiling.eventsPerSec;
        process.stderr.write(`  ceiling (${encoder}, own process): ${fmtInt(result.ceiling.eventsPerSec)} events/s\n`);
        scale.push(result);
      }
    }

    const missed = throughput !== undefined && (throughput.perCodec.null.ratio < TARGETS.ratioNull || throughput.perCodec.deflate.ratio < TARGETS.ratioDeflate);
    const wantProfile = only('throughput') && (values.profile ?? (!values['no-profile'] && missed));
    let profile: Profiles | undefined;
    if (wantProfile) {
      profile = await runWorker<Profiles>(
        { mode: 'profile', connectionString, batchEvents: throughputEvents, eventsPerMessage: perMessage, codecs: ['null', 'deflate'], warmups: 2, reps: quick ? 3 : 6, profileDir: join(ROOT, '.local', 'bench-profiles') },
        counter,
        'profile: pipeline only, V8 CPU profiler',
      );
    }

    // Exports: engine vs raw ceiling, peak RSS at 1M and 10M users (bench/exports.ts).
    let exports: ExportsResult | undefined;
    if (only('exports')) {
      const bigFormats = values['export-big'] === 'none' ? [] : (values['export-big']!.split(',') as ExportFormat[]);
      const formats = values['export-formats']!.split(',') as ExportFormat[];
      if ([...bigFormats, ...formats].some((f) => f !== 'csv' && f !== 'jsonl')) throw new Error('--export-big and --export-formats take csv, jsonl or both (csv,jsonl); --export-big also none');
      if ([Number(values['export-users']), Number(values['export-big-users'])].some((n) => !Number.isInteger(n) || n <= 0)) throw new Error('--export-users and --export-big-users must be positive whole numbers');
      exports = await runExportsBench({
        connectionString,
        counter,
        users: Number(values['export-users']),
        bigUsers: Number(values['export-big-users']),
        bigFormats,
        formats,
        rounds: quick ? { csv: 1, jsonl: 1 } : { csv: 2, jsonl: 2 },
        profileDir: values.profile ? join(ROOT, '.local', 'bench-profiles') : undefined,
      });
    }

    report({ exports, throughput, scale, profile, settings, outDir, quick, perMessage, seconds: (Date.now() - started) / 1000, loadAtStart, waitQuiet: quietWaitMs > 0 });
  } finally {
    await azurite.close();
    counter.stop();
  }
}

type Profiles = Record<string, { file: string; batches: number; eventsPerSec: number; summary: ProfileSummary }>;

interface Target {
  target: string;
  measured: string;
  pass: boolean;
}

function throughputSection(throughput: ThroughputResult, say: (s?: string) => void, targets: Target[]): void {
  const n = throughput.perCodec.null;
  say(
    `1. Throughput, end to end (batch of ${fmtInt(throughput.batchEvents)} events = ${throughput.messages} messages × ${throughput.eventsPerMessage}, ` +
      `${throughput.eventTypes} event types → ${n.filesPerBatch} files; destination concurrency ${throughput.concurrency}; median of ${n.pipeline.runs})`,
  );
  say(
    table(
      ['codec', 'pipeline ev/s', '±%', 'ceiling ev/s', '±%', 'ratio', 'target', '', 'ceiling encoder', 'pipeline CPU µs/ev', 'ceiling CPU µs/ev', 'Azurite CPU µs/ev (pipe/ceil)', 'other load'],
      Object.entries(throughput.perCodec).map(([codec, c]) => {
        const target = codec === 'null' ? TARGETS.ratioNull : TARGETS.ratioDeflate;
        return [
          codec,
          fmtInt(c.pipeline.eventsPerSec),
          fmt1(c.pipeline.spreadPct),
          fmtInt(c.ceiling.eventsPerSec),
          fmt1(c.ceiling.spreadPct),
          fmt2(c.ratio),
          `≥ ${target}`,
          c.ratio >= target ? 'PASS' : 'MISS',
          c.ceilingEncoder,
          fmt2(c.pipeline.cpuMicrosPerEvent),
          fmt2(c.ceiling.cpuMicrosPerEvent),
          `${fmt2(c.pipeline.azuriteCpuMicrosPerEvent)} / ${fmt2(c.ceiling.azuriteCpuMicrosPerEvent)}`,
          fmt2(Math.max(c.pipeline.foreignCores, c.ceiling.foreignCores)),
        ];
      }),
    ),
  );
  say();
  say('   Ceiling candidates: the same files encoded by each encoder, encode only and encode + plain upload (same concurrency); upload alone:');
  say(
    table(
      ['codec', 'encoder', 'encode only ev/s', 'encode + upload ev/s', '±%', 'CPU µs/ev', 'file bytes/event'],
      Object.entries(throughput.perCodec).flatMap(([codec, c]) =>
        ENCODERS.map((e) => [
          e === ENCODERS[0] ? codec : '',
          `${e}${e === c.ceilingEncoder ? ' ← ceiling' : ''}`,
          fmtInt(c.encoders[e].eventsPerSec),
          fmtInt(c.ceilingByEncoder[e].eventsPerSec),
          fmt1(c.ceilingByEncoder[e].spreadPct),
          fmt2(c.ceilingByEncoder[e].cpuMicrosPerEvent),
          fmt1(c.encoders[e].bytes / throughput.batchEvents),
        ]),
      ),
      2,
    ),
  );
  say(
    `   Upload only (bytes pre-encoded): ${Object.entries(throughput.perCodec)
      .map(([codec, c]) => `${codec} ${fmtInt(c.uploadOnly.eventsPerSec)} ev/s = ${fmt1(c.uploadOnly.bytes / 1048576 / (c.uploadOnly.medianMs / 1000))} MB/s, ${fmtInt((c.uploadOnly.files / c.uploadOnly.medianMs) * 1000)} files/s`)
      .join('; ')}.`,
  );
  say('   Ceiling = the encoder with the fastest encode-then-upload (per file, files in flight = destination concurrency), plain BlockBlobClient.upload.');
  targets.push(
    { target: `currents end to end ≥ ${TARGETS.ratioNull}× ceiling (null codec)`, measured: `${fmt2(n.ratio)}×`, pass: n.ratio >= TARGETS.ratioNull },
    { target: `currents end to end ≥ ${TARGETS.ratioDeflate}× ceiling (deflate)`, measured: `${fmt2(throughput.perCodec.deflate.ratio)}×`, pass: throughput.perCodec.deflate.ratio >= TARGETS.ratioDeflate },
  );
}

function costOf(s: ScaleResult, settings: ReturnType<typeof loadSettings>) {
  const batchesPerMillion = 1e6 / s.batchEvents;
  const messagesPerMillion = 1e6 / s.eventsPerMessage;
  const m = s.pipeline.requestsPerBatch.byMethod;
  const per = (x: number | undefined) => (x ?? 0) * batchesPerMillion;
  return {
    batchEvents: s.batchEvents,
    batchesPerMillion,
    blob: { PUT: per(m.PUT), GET: per(m.GET), HEAD: per(m.HEAD), LIST: per(m.LIST), DELETE: per(m.DELETE), total: per(s.pipeline.requestsPerBatch.total) },
    blobByOperation: Object.fromEntries(Object.entries(s.pipeline.requestsPerBatch.byOperation).map(([k, v]) => [k, v * batchesPerMillion])),
    keyVault: {
      measuredSteadyStatePerMillion: (s.secretReads.steadyState / s.secretReads.steadyStateEvents) * 1e6,
      firstBatchReads: s.secretReads.firstBatch,
      /** One read per secret per TTL per instance, at the measured rate. */
      modelPerMillionAtMeasuredRate: 1e6 / (s.pipeline.eventsPerSec * settings.SECRET_CACHE_TTL_SECONDS),
    },
    serviceBus: {
      /** Functions host, cardinality many: one receive call and one (batched) complete per batch. */
      perBatchModel: 2 * batchesPerMillion,
      /** Upper bound: one receive per batch and one complete per message. */
      perMessageSettlement: batchesPerMillion + messagesPerMillion,
    },
    firstBatchRequests: s.requestsFirstBatch,
  };
}

function scaleSections(scale: ScaleResult[], settings: ReturnType<typeof loadSettings>, perMessage: number, say: (s?: string) => void, targets: Target[]) {
  say(`2–3. Memory and throughput against batch size (codec null, ${perMessage} events/message, one fresh process per size; Azurite runs in the parent, not counted)`);
  say(
    table(
      ['events/batch', 'msgs', 'files', 'pipeline ev/s', '±%', 'CPU µs/ev', 'ceiling ev/s', 'ratio', 'other load', 'RSS idle MB', 'RSS +input MB', 'peak RSS 1st batch', 'peak RSS later', 'peak heap MB', 'input heap MB'],
      scale.map((s) => [
        fmtInt(s.batchEvents),
        s.messages,
        s.filesPerBatch,
        fmtInt(s.pipeline.eventsPerSec),
        fmt1(s.pipeline.spreadPct),
        fmt2(s.pipeline.cpuMicrosPerEvent),
        s.ceiling ? fmtInt(s.ceiling.eventsPerSec) : '—',
        s.ratio !== undefined ? fmt2(s.ratio) : '—',
        fmt2(Math.max(s.pipeline.foreignCores, s.ceiling?.foreignCores ?? 0)),
        fmt1(s.memory.rssAfterSetupMB),
        fmt1(s.memory.rssWithInputMB),
        fmt1(s.memory.coldPeakRssMB),
        fmt1(s.memory.warmPeakRssMB),
        fmt1(Math.max(s.memory.coldPeakHeapMB, s.memory.warmPeakHeapMB)),
        fmt1(s.memory.inputHeapMB),
      ]),
    ),
  );
  const cost = scale.map((s) => costOf(s, settings));
  say();
  say(`4. Operations per million events at steady state (measured; requests counted at Azurite; Service Bus from the model below)`);
  say(
    table(
      ['events/batch', 'batches/M', 'blob PUT/M', 'GET/M', 'HEAD/M', 'LIST/M', 'KV reads/M (measured)', 'KV reads/M (TTL model)', 'SB ops/M (per batch)', 'SB ops/M (per msg settle)'],
      cost.map((c) => [
        fmtInt(c.batchEvents),
        fmtInt(c.batchesPerMillion),
        fmtInt(c.blob.PUT),
        fmtInt(c.blob.GET),
        fmtInt(c.blob.HEAD),
        fmtInt(c.blob.LIST),
        fmt2(c.keyVault.measuredSteadyStatePerMillion),
        fmt2(c.keyVault.modelPerMillionAtMeasuredRate),
        fmtInt(c.serviceBus.perBatchModel),
        fmtInt(c.serviceBus.perMessageSettlement),
      ]),
    ),
  );
  const first = scale[0]?.requestsFirstBatch.byOperation ?? {};
  say(`   Model: Service Bus = 1 receive + 1 complete per batch (the Functions host, cardinality 'many'); the last column settles each message`);
  say(`   separately (upper bound). Key Vault: the secret cache (TTL ${settings.SECRET_CACHE_TTL_SECONDS} s) reads each secret once per TTL per instance: the TTL model`);
  say(`   column is that rate at the measured events/s. First batch of a fresh process: ${scale.map((s) => s.secretReads.firstBatch).join('/')} secret read(s) and`);
  say(`   ${Object.entries(first).filter(([k]) => k !== 'PutBlob').map(([k, v]) => `${v} ${k}`).join(', ') || 'no'} request(s) besides the file PUTs (registry read, cached ${settings.REGISTRY_CACHE_TTL_SECONDS} s).`);

  const big = scale.find((s) => s.batchEvents === TARGETS.peakRssBatch);
  if (big) {
    targets.push({ target: `peak RSS ≤ ${TARGETS.peakRssMB} MB with ${fmtInt(big.batchEvents)}-event batches`, measured: `${fmt1(big.memory.peakRssMB)} MB (before the batch: ${fmt1(big.memory.rssWithInputMB)} MB)`, pass: big.memory.peakRssMB <= TARGETS.peakRssMB });
  }
  const kvWorst = Math.max(...cost.map((c) => c.keyVault.measuredSteadyStatePerMillion));
  targets.push({ target: 'Key Vault reads ≈ 0 per million events at steady state', measured: `${fmt2(kvWorst)} per million (worst batch size)`, pass: kvWorst <= TARGETS.secretReadsPerMillion });
  return cost;
}

function report(input: {
  exports?: ExportsResult;
  throughput?: ThroughputResult;
  scale: ScaleResult[];
  profile?: Profiles;
  settings: ReturnType<typeof loadSettings>;
  outDir: string;
  quick: boolean;
  perMessage: number;
  seconds: number;
  loadAtStart: number[];
  waitQuiet: boolean;
}): void {
  const { throughput, scale, profile, settings, outDir } = input;
  const lines: string[] = [];
  const say = (s = '') => lines.push(s);
  const targets: Target[] = [];
  const workerArgs = deployedWorkerArguments();
  say(`Every measured process runs with the Functions worker's Node arguments: ${workerArgs.length ? workerArgs.join(' ') : "(none: Node's defaults)"} (languageWorkers__node__arguments; BENCH_WORKER_ARGS overrides).`);
  say();

  if (throughput) {
    throughputSection(throughput, say, targets);
    say();
  }
  const cost = scale.length > 0 ? scaleSections(scale, settings, input.perMessage, say, targets) : undefined;
  if (input.exports) {
    say();
    exportsSection(input.exports, say, targets);
  }

  say();
  say('5. Targets');
  say(table(['target', 'measured', 'result'], targets.map((t) => [t.target, t.measured, t.pass ? 'PASS' : 'MISS']), 2));

  if (profile) {
    say();
    say('Profile (pipeline only, V8 sampling profiler): top frames by self time, and self time by area');
    for (const [codec, p] of Object.entries(profile)) {
      say(`  ${codec}: ${p.batches} batches, ${fmtInt(p.eventsPerSec)} events/s under the profiler, ${p.summary.totalMs} ms sampled → ${relative(ROOT, p.file)}`);
      say(table(['self time', 'ms', '%'], p.summary.topSelf.slice(0, 15).map((f) => [f.frame, fmt1(f.ms), fmt1(f.pct)])).replace(/^/gm, '    '));
      say(table(['by area', 'ms', '%'], p.summary.byArea.slice(0, 10).map((f) => [f.frame, fmt1(f.ms), fmt1(f.pct)])).replace(/^/gm, '    '));
    }
  }
  const foreign = [
    ...(throughput ? Object.values(throughput.perCodec).flatMap((c) => [c.pipeline.foreignCores, c.ceiling.foreignCores]) : []),
    ...scale.flatMap((s) => [s.pipeline.foreignCores, s.ceiling?.foreignCores ?? 0]),
  ];
  say();
  say(`"other load" = median CPU (in cores) that processes other than the bench used during the timed runs, from /proc/stat.`);
  if (Math.max(...foreign, 0) > 0.15) say(`⚠ Other processes were busy during timed runs (up to ${fmt2(Math.max(...foreign))} cores on ${cpus().length}): events/s figures are pessimistic; CPU µs/event are the steadier figures.`);
  say(`(${fmt1(input.seconds)} s in all${input.quick ? ', --quick' : ''}${input.waitQuiet ? ', --wait-quiet' : ''}; load average at start ${input.loadAtStart.map((x) => x.toFixed(2)).join(' ')}, at end ${loadavg().map((x) => x.toFixed(2)).join(' ')})`);

  const text = lines.join('\n');
  console.log(text);

  const written: string[] = [];
  if (scale.length > 0) {
    const chartFile = join(outDir, 'chart.svg');
    writeFileSync(
      chartFile,
      scaleChart(
        scale.map((s) => ({ batchEvents: s.batchEvents, eventsPerSec: s.pipeline.eventsPerSec, ceilingEventsPerSec: s.ceiling?.eventsPerSec, peakRssMB: s.memory.peakRssMB })),
        {
          title: 'currents-blob: throughput and peak RSS against batch size',
          subtitle: `codec null · ${input.perMessage} events/message · ${cpus().length} cores · Node ${process.versions.node} · ${new Date().toISOString().slice(0, 10)}`,
          rssTargetMB: TARGETS.peakRssMB,
        },
      ),
    );
    written.push(chartFile);
  }
  const resultsFile = join(outDir, 'results.json');
  // `--only exports` adds its figures to the last full run's results instead of replacing them.
  const previous = input.exports && !input.throughput && scale.length === 0 ? readResults(resultsFile) : undefined;
  const round2 = (_k: string, v: unknown) => (typeof v === 'number' && !Number.isInteger(v) ? round(v, 2) : v);
  writeFileSync(
    resultsFile,
    JSON.stringify(
      {
        generatedAt: new Date().toISOString(),
        revision: gitRevision(),
        workerNodeArguments: deployedWorkerArguments(),
        machine: { cpus: cpus().length, cpuModel: cpus()[0]?.model, totalMemoryMB: Math.round(totalmem() / 1048576), node: process.versions.node, platform: process.platform },
        quick: input.quick,
        waitQuiet: input.waitQuiet,
        seconds: round(input.seconds, 1),
        loadAverage: { atStart: input.loadAtStart, atEnd: loadavg() },
        settings: {
          DESTINATION_CONCURRENCY: settings.DESTINATION_CONCURRENCY,
          MAX_EVENTS_PER_FILE: settings.MAX_EVENTS_PER_FILE,
          SECRET_CACHE_TTL_SECONDS: settings.SECRET_CACHE_TTL_SECONDS,
          REGISTRY_CACHE_TTL_SECONDS: settings.REGISTRY_CACHE_TTL_SECONDS,
          STORAGE_MAX_TRIES: settings.STORAGE_MAX_TRIES,
        },
        method: {
          azurite: 'in memory, in the orchestrating process; each scenario runs in a fresh child process given the connection string',
          input: 'demoEvent over currentsCatalog().availableIn(10), types cycled, bodies JSON round-tripped as the Functions host delivers them; generated before timing',
          ceilingEncoders: ENCODER_DESCRIPTIONS,
          ceiling: 'per codec, the encoder whose encode-then-upload (per file, destination-concurrency files in flight, plain BlockBlobClient.upload) is fastest; same files as the pipeline',
          repetitions: 'median of the timed runs after warm-ups; pipeline, ceiling and upload-only interleaved; a forced GC before each run',
          peakRss: 'Linux VmHWM reset through /proc/self/clear_refs before each batch: peak RSS of the process while the batch is processed, input included',
          serviceBusModel: '1 receive + 1 complete per batch (perBatchModel); perMessageSettlement = 1 receive per batch + 1 complete per message',
        },
        targets: Object.fromEntries(targets.map((t) => [t.target, { measured: t.measured, result: t.pass ? 'PASS' : 'MISS' }])),
        throughput,
        scale,
        costPerMillionEvents: cost,
        exports: input.exports,
        profile,
        table: text,
      },
      round2,
      2,
    ) + '\n',
  );
  if (previous) mergeExportsInto(resultsFile, previous);
  written.push(resultsFile);
  process.stderr.write(`\nwrote ${written.map((f) => relative(process.cwd(), f)).join(' and ')}\n`);
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
