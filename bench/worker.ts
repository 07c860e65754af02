/**
 * The measured process. Started by bench/run.ts (one fresh process per scenario) with the connection
 * string of the Azurite the parent runs; does only the work being measured and reports over IPC.
 *
 * Modes:
 * - throughput: figure 1 — pipeline vs ceiling, side by side (interleaved repetitions), per codec,
 *   plus the encoders compared on their own and upload-only.
 * - scale: figures 2–4 — one batch size: peak RSS/heap of the first and of later batches, events/s,
 *   requests and secret reads per batch, then the ceiling at that size.
 * - profile: CPU profile of pipeline runs only (inspector), written as .cpuprofile and summarised.
 */
import { mkdtempSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { loadSettings, type Settings } from '../shared/config/settings';
import { createCurrentsApp, type CurrentsApp } from '../shared/app';
import { processCurrentsBatch, type BatchReport, type CurrentsDeps } from '../shared/currents/pipeline';
import { currentsCatalog } from '../shared/currents/schemas/catalog';
import { storageOptions } from '../shared/storage/appStorage';
import { CountingTelemetry, type Log } from '../shared/telemetry/telemetry';
import { mapLimit } from '../shared/util/mapLimit';
import type { Codec } from '../shared/currents/avroFile';
import { makeBodies, readdress, SequenceSource, eventsIn, type Body } from './lib/input';
import { childLog, sendResult, type ChildToParent, type ParentToChild } from './lib/ipc';
import { series, type Timed } from './lib/series';
import { planFiles, namesFor, encodeAll, uploadAll, encodeAndUpload, type EncoderName, type PlannedFile } from './lib/ceiling';
import { collectGarbage, resetPeakRss, peakRssBytes, HeapSampler, machineBusyMicros } from './lib/memory';
import { median, madPct, MB } from './lib/stats';
import { Profiler, summarize } from './lib/profile';
import { timedRun } from './lib/timedRun';

export interface WorkerConfig {
  mode: 'arm' | 'scale' | 'profile';
  /** arm: which contender this process runs (figure 1). */
  arm?: ArmKind;
  connectionString: string;
  batchEvents: number;
  eventsPerMessage: number;
  codecs: Codec[];
  warmups: number;
  reps: number;
  /** profile: where to write .cpuprofile files. */
  profileDir?: string;
  /** Before each timed run, wait up to this long for the rest of the machine to go quiet (0: never wait). */
  quietWaitMs?: number;
}

const config: WorkerConfig = JSON.parse(process.env.BENCH_CONFIG ?? '{}');
const catalog = currentsCatalog();
const schemas = catalog.availableIn(10);

const problems: string[] = [];
const log: Log = { info: () => undefined, warn: (m) => problems.push(`warn ${m}`), error: (m) => problems.push(`error ${m}`) };

interface Env {
  app: CurrentsApp;
  settings: Settings;
  deps: CurrentsDeps;
  service: BlobServiceClient;
  dir: string;
  addIntegration(codec: Codec): Promise<{ id: string; container: ContainerClient }>;
  close(): void;
}

async function setUp(): Promise<Env> {
  const dir = mkdtempSync(join(tmpdir(), 'currents-bench-'));
  const secretsFile = join(dir, 'secrets.json');
  writeFileSync(secretsFile, JSON.stringify({ 'bench-destination': config.connectionString }), { mode: 0o600 });
  // Defaults for every setting (docs/settings.md), overridable from the environment like a real deployment.
  const settings = loadSettings({ ...process.env, APP_STORAGE_CONNECTION_STRING: config.connectionString, LOCAL_SECRETS_FILE: secretsFile, KEY_VAULT_URL: '' });
  const app = createCurrentsApp(settings, { telemetry: new CountingTelemetry() });
  await app.ready();
  const service = BlobServiceClient.fromConnectionString(config.connectionString, storageOptions(settings));
  return {
    app,
    settings,
    deps: app.deps(log),
    service,
    dir,
    async addIntegration(codec) {
      const id = randomBytes(12).toString('hex');
      const container = service.getContainerClient(`bench-${config.mode}-${codec}-${id.slice(0, 8)}`);
      await container.createIfNotExists();
      await app.registry.put({ id, name: `bench ${codec}`, contactEmail: 'bench@example.com', connectionStringSecret: 'bench-destination', container: container.containerName, eventTypes: ['*'], codec });
      return { id, container };
    },
    close: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function check(report: BatchReport, events: number): void {
  const bad = report.quarantined.events + report.parked.events + report.droppedOversize + report.skippedNotSelected + report.alreadyWritten;
  if (report.written.events !== events || bad !== 0 || problems.length > 0) {
    throw new Error(`bench batch did not write cleanly: ${JSON.stringify({ ...report, written: { ...report.written, names: report.written.names.length } })} ${problems.slice(0, 3).join(' | ')}`);
  }
}

/** Removes what a run wrote (untimed), so Azurite's blob table stays the same size from run to run. */
async function remove(container: ContainerClient, names: readonly string[]): Promise<void> {
  await mapLimit(names, 16, (n) => container.deleteBlob(n));
}

/**
 * On a shared machine: waits (up to config.quietWaitMs) until other processes use less than a quarter
 * of a core over a 200 ms window. Called before untimed runs only (idling right before a timed run
 * would slow it). Between runs this process and Azurite are idle, so what the machine spends is
 * someone else's.
 */
async function quiet(): Promise<void> {
  const until = Date.now() + (config.quietWaitMs ?? 0);
  while (Date.now() < until) {
    const b0 = machineBusyMicros();
    const c0 = process.cpuUsage();
    await new Promise((r) => setTimeout(r, 200));
    const b1 = machineBusyMicros();
    const c = process.cpuUsage(c0);
    if (b0 === undefined || b1 === undefined) return;
    if ((b1 - b0 - c.user - c.system) / 200_000 < 0.25) return;
  }
}

async function timed(run: () => Promise<{ files: number; bytes: number }>): Promise<Timed> {
  return (await timedRun(run)).t;
}

/** One pipeline delivery of `bodies`, timed, then its files removed. */
async function pipelineRun(env: Env, container: ContainerClient, bodies: Body[], seq: SequenceSource): Promise<{ t: Timed; report: BatchReport }> {
  const messages = seq.messages(bodies);
  const events = eventsIn(bodies);
  let report!: BatchReport;
  const t = await timed(async () => {
    report = await processCurrentsBatch(messages, env.deps);
    return { files: report.written.files, bytes: report.written.bytes };
  });
  check(report, events);
  await remove(container, report.written.names);
  return { t, report };
}

async function ceilingRun(encoder: EncoderName, container: ContainerClient, files: PlannedFile[], codec: Codec, seq: SequenceSource, concurrency: number, messages: number): Promise<Timed> {
  const names = namesFor(files, seq.take(messages));
  const t = await timed(async () => ({ files: files.length, bytes: await encodeAndUpload(encoder, container, files, names, codec, concurrency) }));
  await remove(container, names);
  return t;
}

// ---------------------------------------------------------------------------------------------

/**
 * Figure 1 runs every contender in its own process ("arm"): the pipeline, the ceiling with each
 * encoder, and upload-only. Measured in one process, they slowed each other down — the code they
 * share (avsc's writers, the framing, the SDK's upload path) gets optimised for whichever ran first
 * and de-optimised by the others: the pipeline lost a third of its speed next to the ceiling arms.
 * The parent starts all arms of a codec, then asks them for one run at a time, in rotating order, so
 * drift still hits all alike.
 */
export type ArmKind = 'pipeline' | 'upload' | `ceiling:${EncoderName}`;

export type ArmResult = {
  arm: ArmKind;
  filesPerBatch: number;
  encodeOnly?: { medianMs: number; eventsPerSec: number; bytes: number; spreadPct: number };
  secretReads?: { total: number; duringRuns: number };
};

async function armMode(env: Env): Promise<void> {
  const arm = config.arm!;
  const codec = config.codecs[0];
  const concurrency = env.settings.DESTINATION_CONCURRENCY;
  const seq = new SequenceSource();
  const base = makeBodies(config.batchEvents, config.eventsPerMessage, '0'.repeat(24), schemas);
  const events = eventsIn(base);
  let runOnce: () => Promise<Timed>;
  const result: ArmResult = { arm, filesPerBatch: 0 };

  if (arm === 'pipeline') {
    const { id, container } = await env.addIntegration(codec);
    const bodies = readdress(base, id);
    runOnce = async () => {
      const { t, report } = await pipelineRun(env, container, bodies, seq);
      result.filesPerBatch = report.written.files;
      return t;
    };
  } else {
    const files = planFiles(base, catalog, env.settings.MAX_EVENTS_PER_FILE);
    result.filesPerBatch = files.length;
    const container = env.service.getContainerClient(`bench-${arm.replace(':', '-').toLowerCase()}-${process.pid}`);
    await container.createIfNotExists();
    if (arm === 'upload') {
      const bodies = await encodeAll('encodeContainerFile', files, codec, namesFor(files, 0n));
      runOnce = async () => {
        const names = namesFor(files, seq.take(base.length));
        const t = await timed(async () => ({ files: files.length, bytes: await uploadAll(container, names, bodies, concurrency) }));
        await remove(container, names);
        return t;
      };
    } else {
      const encoder = arm.slice('ceiling:'.length) as EncoderName;
      // The encoder on its own first (encode only, one file after another).
      const names = namesFor(files, 0n);
      const ms: number[] = [];
      let bytes = 0;
      for (let r = 0; r < config.warmups + config.reps; r++) {
        collectGarbage();
        const t0 = performance.now();
        const out = await encodeAll(encoder, files, codec, names);
        const dt = performance.now() - t0;
        bytes = out.reduce((n, b) => n + b.length, 0);
        if (r >= config.warmups) ms.push(dt);
      }
      result.encodeOnly = { medianMs: median(ms), eventsPerSec: (events / median(ms)) * 1000, bytes, spreadPct: madPct(ms) };
      runOnce = () => ceilingRun(encoder, container, files, codec, seq, concurrency, base.length);
    }
  }

  // Warm-up of this arm's whole path (and of Azurite for it) before the parent's first timed run.
  for (let r = 0; r < config.warmups; r++) await runOnce();
  const secrets0 = env.app.secrets.stats().reads;
  process.send!({ t: 'ready' } satisfies ChildToParent);
  await new Promise<void>((resolveDone) => {
    process.on('message', (m: ParentToChild) => {
      if (m.t === 'run') {
        void (async () => {
          // A process that sat idle runs its next batch slower (heap shrunk, caches cold): the block
          // starts with untimed runs, then the timed ones follow back to back, as in a busy host.
          await quiet();
          for (let i = 0; i < m.warm; i++) await runOnce();
          const timings: Timed[] = [];
          for (let i = 0; i < m.count; i++) timings.push(await runOnce());
          process.send!({ t: 'done', timings } satisfies ChildToParent);
        })();
      }
      else if (m.t === 'finish') resolveDone();
    });
  });
  if (arm === 'pipeline') result.secretReads = { total: env.app.secrets.stats().reads, duringRuns: env.app.secrets.stats().reads - secrets0 };
  await sendResult(result);
}

async function scaleMode(env: Env): Promise<unknown> {
  const { batchEvents, eventsPerMessage, warmups, reps } = config;
  const codec: Codec = config.codecs[0] ?? 'null';
  const seq = new SequenceSource();
  const { id, container } = await env.addIntegration(codec);

  collectGarbage();
  const setupMem = process.memoryUsage();
  const bodies = makeBodies(batchEvents, eventsPerMessage, id, schemas);
  const events = eventsIn(bodies);
  collectGarbage();
  const baseMem = process.memoryUsage();

  // First batch in a fresh process: cold caches (registry, secret, clients), cold JIT.
  const sampler = new HeapSampler();
  const secrets0 = env.app.secrets.stats().reads;
  collectGarbage();
  resetPeakRss();
  sampler.start();
  const cold = await pipelineRun(env, container, bodies, seq);
  sampler.stop();
  const coldPeakRss = peakRssBytes();
  const coldPeakHeap = sampler.peakHeapUsed;
  const coldSecretReads = env.app.secrets.stats().reads - secrets0;

  // Later batches: each starts from a collected heap with the high-water mark reset.
  const runs: Timed[] = [];
  let warmPeakRss = 0;
  let warmPeakHeap = 0;
  let warmPeakExternal = 0;
  const secrets1 = env.app.secrets.stats().reads;
  await quiet();
  for (let r = 1; r < warmups + reps; r++) {
    const s = new HeapSampler();
    collectGarbage();
    resetPeakRss();
    s.start();
    const { t } = await pipelineRun(env, container, bodies, seq);
    s.stop();
    warmPeakRss = Math.max(warmPeakRss, peakRssBytes());
    warmPeakHeap = Math.max(warmPeakHeap, s.peakHeapUsed);
    warmPeakExternal = Math.max(warmPeakExternal, s.peakExternal);
    if (r >= warmups) runs.push(t);
  }
  const steadySecretReads = env.app.secrets.stats().reads - secrets1;
  const pipeline = series(runs, events);
  childLog(`  ${events.toLocaleString('en-US')} events/batch: pipeline ${Math.round(pipeline.eventsPerSec).toLocaleString('en-US')} events/s, peak RSS ${MB(Math.max(coldPeakRss, warmPeakRss)).toFixed(0)} MB`);

  return {
    batchEvents: events,
    messages: bodies.length,
    eventsPerMessage,
    codec,
    filesPerBatch: cold.report.written.files,
    bytesPerBatch: cold.report.written.bytes,
    pipeline,
    memory: {
      rssAfterSetupMB: MB(setupMem.rss),
      heapAfterSetupMB: MB(setupMem.heapUsed),
      rssWithInputMB: MB(baseMem.rss),
      heapWithInputMB: MB(baseMem.heapUsed),
      inputHeapMB: MB(baseMem.heapUsed - setupMem.heapUsed),
      externalWithInputMB: MB(baseMem.external),
      coldPeakRssMB: MB(coldPeakRss),
      coldPeakHeapMB: MB(coldPeakHeap),
      warmPeakRssMB: MB(warmPeakRss),
      warmPeakHeapMB: MB(warmPeakHeap),
      warmPeakExternalMB: MB(warmPeakExternal),
      peakRssMB: MB(Math.max(coldPeakRss, warmPeakRss)),
      peakRssResettable: resetPeakRss(),
    },
    secretReads: { firstBatch: coldSecretReads, steadyState: steadySecretReads, steadyStateBatches: warmups + reps - 1, steadyStateEvents: (warmups + reps - 1) * events },
    requestsFirstBatch: cold.t.requests,
  };
}

async function profileMode(env: Env): Promise<unknown> {
  const { batchEvents, eventsPerMessage, warmups, reps } = config;
  const dir = resolve(config.profileDir ?? 'bench/profiles');
  mkdirSync(dir, { recursive: true });
  const out: Record<string, unknown> = {};
  const base = makeBodies(batchEvents, eventsPerMessage, '0'.repeat(24), schemas);
  const events = eventsIn(base);
  const seq = new SequenceSource();
  for (const codec of config.codecs) {
    const { id, container } = await env.addIntegration(codec);
    const bodies = readdress(base, id);
    for (let r = 0; r < warmups; r++) await pipelineRun(env, container, bodies, seq);
    const batches = Array.from({ length: reps }, () => seq.messages(bodies));
    const written: string[] = [];
    collectGarbage();
    const profiler = new Profiler();
    await profiler.start();
    const t0 = performance.now();
    for (const messages of batches) {
      const report = await processCurrentsBatch(messages, env.deps);
      check(report, events);
      written.push(...report.written.names);
    }
    const ms = performance.now() - t0;
    const profile = await profiler.stop();
    await remove(container, written);
    const file = join(dir, `pipeline-${codec}-${events}.cpuprofile`);
    writeFileSync(file, JSON.stringify(profile));
    out[codec] = { file, batches: reps, eventsPerSec: (events * reps * 1000) / ms, summary: summarize(profile, resolve(__dirname, '..', '..')) };
    childLog(`  profiled ${reps} × ${events} events (${codec}) → ${file}`);
  }
  return out;
}

async function main(): Promise<void> {
  const env = await setUp();
  try {
    if (config.mode === 'arm') await armMode(env);
    else await sendResult(config.mode === 'scale' ? await scaleMode(env) : await profileMode(env));
  } finally {
    env.close();
  }
  process.exit(0);
}

main().catch((err) => {
  process.stderr.write(`bench worker (${config.mode}) failed: ${err?.stack ?? err}\n`);
  process.exit(1);
});
