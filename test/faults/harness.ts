import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { BlobServiceClient } from '@azure/storage-blob';
import type { LogHandler } from '@azure/functions';
import { currentsEvents } from '../../functions/currentsEvents';
import { currentsCatalog } from '../../shared/currents/schemas/catalog';
import { DemoProducer } from '../../shared/local/producer';
import { DurableQueue } from '../../shared/local/durableQueue';
import { consumeOnce, type ConsumerStats } from '../../shared/local/consumer';
import { COVERAGE_KEY, decodeOffsets } from '../../shared/storage/coveredWrite';
import { mapLimit } from '../../shared/util/mapLimit';
import { startTestStack, type TestStack } from '../support/stack';
import { startFaultProxy, type FaultPlan, type FaultStats } from '../support/faultProxy';
import { decodeWithAvsc } from '../support/avsc';

/**
 * One fault scenario end to end, the way production runs it:
 *
 *   DurableQueue (Service Bus semantics: peek-lock, delivery count, abandon → redelivery, dead-letter)
 *     → consumeOnce (plays the Functions host, `cardinality: 'many'`, N concurrent invocations)
 *     → functions/currentsEvents (the real trigger handler) → pipeline → Blob SDK
 *     → fault proxy → Azurite                                   (the customer's storage)
 *   while the app's own storage (registry, quarantine, parked events) talks to Azurite directly:
 *   the faults are the customer's, and what we park must land.
 *
 * After the queue is drained, every file in the customer's container is decoded (avsc) and every
 * parked line and dead-lettered message is read, so each sent event id can be accounted for.
 *
 * Defaults, chosen so one scenario takes ~10–30 s on 2 cores and faults hit every code path: 50,000
 * events, 250 per message, 10 messages per invocation, 2 concurrent invocations, 8 event types,
 * MAX_EVENTS_PER_FILE=100 (each group spans ~4 files, so a failure can land between two files of a
 * group), STORAGE_TRY_TIMEOUT_SECONDS=2, STORAGE_MAX_TRIES=2, peek-lock 60 s, 10 deliveries.
 */
export interface ScenarioOptions {
  name: string;
  /** Built once the stack is up (after set-up requests, so they are never faulted). */
  plan: () => FaultPlan;
  events?: number;
  eventsPerMessage?: number;
  /** Messages per invocation (maxMessageBatchSize). */
  batchSize?: number;
  /** Concurrent invocations (maxConcurrentCalls). */
  consumers?: number;
  /** How many event types the events cycle through (spread over the catalog). */
  eventTypes?: number;
  /** App settings for this run (STORAGE_TRY_TIMEOUT_SECONDS, STORAGE_MAX_TRIES, MAX_EVENTS_PER_FILE…). */
  env?: Record<string, string>;
  maxStallMs?: number;
  lockDurationMs?: number;
  maxDeliveryCount?: number;
  /** Give up draining after this long (the scenario then reports what it has). */
  deadlineMs?: number;
}

export interface ScenarioResult {
  name: string;
  seconds: number;
  sent: number;
  messages: number;
  drained: boolean;
  files: number;
  /** Events per outcome, counted per occurrence. */
  fileRecords: number;
  parkedRecords: number;
  deadLetteredEvents: number;
  deadLetteredMessages: number;
  /** Sent ids found in no file, no parked line and no dead-lettered message. */
  lost: number;
  /** Extra copies of ids in files (an id in 3 files counts 2). */
  duplicatesInFiles: number;
  duplicatesInParked: number;
  /** Ids both in a file and parked. */
  parkedAndWritten: number;
  /** Ids both dead-lettered and in a file (partially delivered messages that ran out of deliveries). */
  deadLetteredAndWritten: number;
  /** Records with ids we never sent (must be 0). */
  unknownIds: number;
  /** Files whose metadata does not match their content (items count, coverage missing). */
  badMetadata: string[];
  parkedReasons: Record<string, number>;
  deliveries: { batches: number; completedMessages: number; abandonedMessages: number; consumerErrors: number; lastFailures: string[] };
  telemetry: Record<string, number>;
  proxy: FaultStats;
  proxySummary: string;
  lostSample: string[];
  duplicateSample: string[];
}

const catalog = currentsCatalog();

function pickSchemas(count: number) {
  const all = catalog.availableIn(10);
  const step = all.length / count;
  return Array.from({ length: count }, (_, i) => all[Math.floor(i * step)]);
}

export async function runScenario(options: ScenarioOptions): Promise<ScenarioResult> {
  const events = options.events ?? 50_000;
  const perMessage = options.eventsPerMessage ?? 250;
  const started = performance.now();
  const stack = await startTestStack({ STORAGE_TRY_TIMEOUT_SECONDS: '2', STORAGE_MAX_TRIES: '2', MAX_EVENTS_PER_FILE: '100', ...options.env });
  const proxy = await startFaultProxy({ target: stack.azurite.blobEndpoint, maxStallMs: options.maxStallMs });
  const dir = mkdtempSync(join(tmpdir(), 'currents-fault-'));
  const queue = DurableQueue.open(join(dir, 'currents-events.sqlite'), {
    lockDurationMs: options.lockDurationMs ?? 60_000,
    maxDeliveryCount: options.maxDeliveryCount ?? 10,
  });
  try {
    // The customer's destination goes through the proxy; its container exists (created directly).
    const secretName = 'customer-connection-string';
    stack.setSecret(secretName, proxy.connectionString);
    const integration = await stack.addIntegration({ connectionStringSecret: secretName });

    // ≥ 50,000 events with unique ids, in messages of `perMessage` events, all queued in one hour.
    const schemas = pickSchemas(options.eventTypes ?? 8);
    const sent = new Set<string>();
    const producer = new DemoProducer(queue, integration.id, perMessage, schemas, sent);
    let messages = 0;
    for (let left = events; left > 0; left -= 40 * perMessage) messages += producer.send(Math.min(left, 40 * perMessage));
    if (sent.size !== events) throw new Error(`generated ${sent.size} unique ids for ${events} events`);

    proxy.setPlan(options.plan());
    const stats: ConsumerStats = { batches: 0, completed: 0, abandoned: 0, failures: [] };
    let consumerErrors = 0;
    const stop = new AbortController();
    const logHandler: LogHandler = () => undefined;
    const handler = (bodies: unknown[], context: Parameters<typeof currentsEvents>[1]) => currentsEvents(bodies, context, stack.app);
    const consumers = Array.from({ length: options.consumers ?? 2 }, async () => {
      while (!stop.signal.aborted) {
        try {
          await consumeOnce(queue, handler, { maxMessages: options.batchSize ?? 10, maxWaitMs: 100, functionName: 'currentsEvents', signal: stop.signal, logHandler }, stats);
        } catch (err) {
          // consumeOnce itself failed (e.g. settling after a lost lock): the host would log and go on.
          consumerErrors += 1;
          stats.failures.push(`consumer: ${(err as Error).message}`);
        }
      }
    });
    const deadline = performance.now() + (options.deadlineMs ?? 240_000);
    let drained = false;
    while (performance.now() < deadline) {
      const c = queue.counts();
      if (c.active + c.locked + c.scheduled === 0) {
        drained = true;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    stop.abort();
    // A stuck invocation (no client timeout) is released when the proxy lets go of its stalls.
    if (!drained) await proxy.close();
    await Promise.all(consumers);

    const readback = await readBack(stack, integration.container, sent, queue);
    const result: ScenarioResult = {
      name: options.name,
      seconds: Number(((performance.now() - started) / 1000).toFixed(1)),
      sent: events,
      messages,
      drained,
      ...readback,
      deliveries: { batches: stats.batches, completedMessages: stats.completed, abandonedMessages: stats.abandoned, consumerErrors, lastFailures: stats.failures.slice(-3) },
      telemetry: Object.fromEntries([...stack.telemetry.totals].filter(([k]) => k.startsWith('currents.events') || k === 'currents.files.written')),
      proxy: proxy.stats,
      proxySummary: proxy.describe(),
    };
    if (process.env.FAULT_REPORT_FILE) appendFileSync(process.env.FAULT_REPORT_FILE, JSON.stringify(result) + '\n');
    return result;
  } finally {
    queue.close();
    await proxy.close();
    await stack.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

type Readback = Pick<
  ScenarioResult,
  | 'files'
  | 'fileRecords'
  | 'parkedRecords'
  | 'deadLetteredEvents'
  | 'deadLetteredMessages'
  | 'lost'
  | 'duplicatesInFiles'
  | 'duplicatesInParked'
  | 'parkedAndWritten'
  | 'deadLetteredAndWritten'
  | 'unknownIds'
  | 'badMetadata'
  | 'parkedReasons'
  | 'lostSample'
  | 'duplicateSample'
>;

async function readBack(stack: TestStack, container: string, sent: Set<string>, queue: DurableQueue): Promise<Readback> {
  const service = stack.service;
  const inFiles = new Map<string, number>();
  const badMetadata: string[] = [];
  const blobs: { name: string; metadata?: Record<string, string> }[] = [];
  for await (const b of service.getContainerClient(container).listBlobsFlat({ includeMetadata: true })) blobs.push({ name: b.name, metadata: b.metadata });
  let fileRecords = 0;
  await mapLimit(blobs, 8, async (blob) => {
    const bytes = await service.getContainerClient(container).getBlockBlobClient(blob.name).downloadToBuffer();
    const { records } = await decodeWithAvsc(bytes);
    fileRecords += records.length;
    for (const r of records) inFiles.set(r.id as string, (inFiles.get(r.id as string) ?? 0) + 1);
    if (!decodeOffsets(blob.metadata?.[COVERAGE_KEY])) badMetadata.push(`${blob.name}: no coverage metadata`);
    if (blob.metadata?.currentsitems !== String(records.length)) badMetadata.push(`${blob.name}: currentsitems=${blob.metadata?.currentsitems} but ${records.length} records`);
  });

  const parked = await readParked(service, stack.app.settings.PARKED_CONTAINER);
  const deadLettered = new Set<string>();
  const letters = queue.deadLetters(1_000_000);
  for (const l of letters) {
    const body = JSON.parse(l.message.body.toString('utf8')) as { events: { id: string }[] };
    for (const e of body.events) deadLettered.add(e.id);
  }

  let lost = 0;
  const lostSample: string[] = [];
  for (const id of sent) {
    if (!inFiles.has(id) && !parked.ids.has(id) && !deadLettered.has(id)) {
      lost += 1;
      if (lostSample.length < 5) lostSample.push(id);
    }
  }
  let duplicatesInFiles = 0;
  const duplicateSample: string[] = [];
  for (const [id, n] of inFiles) {
    if (n > 1) {
      duplicatesInFiles += n - 1;
      if (duplicateSample.length < 5) duplicateSample.push(`${id} x${n}`);
    }
  }
  let duplicatesInParked = 0;
  for (const n of parked.ids.values()) if (n > 1) duplicatesInParked += n - 1;
  let parkedAndWritten = 0;
  for (const id of parked.ids.keys()) if (inFiles.has(id)) parkedAndWritten += 1;
  let deadLetteredAndWritten = 0;
  for (const id of deadLettered) if (inFiles.has(id)) deadLetteredAndWritten += 1;
  let unknownIds = 0;
  for (const id of [...inFiles.keys(), ...parked.ids.keys()]) if (!sent.has(id)) unknownIds += 1;

  return {
    files: blobs.length,
    fileRecords,
    parkedRecords: parked.records,
    deadLetteredEvents: deadLettered.size,
    deadLetteredMessages: letters.length,
    lost,
    duplicatesInFiles,
    duplicatesInParked,
    parkedAndWritten,
    deadLetteredAndWritten,
    unknownIds,
    badMetadata: badMetadata.slice(0, 10),
    parkedReasons: parked.reasons,
    lostSample,
    duplicateSample,
  };
}

export async function readParked(service: BlobServiceClient, container: string): Promise<{ ids: Map<string, number>; records: number; reasons: Record<string, number> }> {
  const ids = new Map<string, number>();
  const reasons: Record<string, number> = {};
  let records = 0;
  const c = service.getContainerClient(container);
  const names: string[] = [];
  for await (const b of c.listBlobsFlat()) names.push(b.name);
  await mapLimit(names, 8, async (name) => {
    const text = (await c.getBlockBlobClient(name).downloadToBuffer()).toString('utf8');
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      const parsed = JSON.parse(line) as { record: { id: string }; reason: string };
      records += 1;
      ids.set(parsed.record.id, (ids.get(parsed.record.id) ?? 0) + 1);
      const category = parsed.reason.slice(0, parsed.reason.indexOf(':'));
      reasons[category] = (reasons[category] ?? 0) + 1;
    }
  });
  return { ids, records, reasons };
}

/** One line for the test output. */
export function summarize(r: ScenarioResult): string {
  return (
    `${r.name}: ${r.seconds}s, sent ${r.sent} events in ${r.messages} messages | files ${r.files} holding ${r.fileRecords} records | ` +
    `parked ${r.parkedRecords} ${JSON.stringify(r.parkedReasons)} | dead-lettered ${r.deadLetteredEvents} events (${r.deadLetteredMessages} msgs) | ` +
    `LOST ${r.lost} | DUPLICATES in files ${r.duplicatesInFiles}, in parked ${r.duplicatesInParked}, parked+written ${r.parkedAndWritten}, dead-lettered+written ${r.deadLetteredAndWritten} | ` +
    `deliveries: ${r.deliveries.batches} invocations, ${r.deliveries.abandonedMessages} messages abandoned, consumer errors ${r.deliveries.consumerErrors} | ` +
    `telemetry currents.events.written ${r.telemetry['currents.events.written'] ?? 0} (vs ${r.fileRecords} records in files) | proxy: ${r.proxySummary}`
  );
}

export function resultDetails(r: ScenarioResult): string {
  return JSON.stringify({ drained: r.drained, lostSample: r.lostSample, duplicateSample: r.duplicateSample, badMetadata: r.badMetadata, lastFailures: r.deliveries.lastFailures, telemetry: r.telemetry });
}

/** Every sent id is in a file, parked, or in a dead-lettered message; nothing foreign; metadata true. */
export function assertNoLoss(r: ScenarioResult): void {
  const why = `${summarize(r)}\n${resultDetails(r)}`;
  assert.ok(r.drained, `the queue was not drained in time (stuck invocations?)\n${why}`);
  assert.equal(r.lost, 0, `LOSS: ${r.lost} sent events are in no file, no parked line and no dead-lettered message\n${why}`);
  assert.equal(r.unknownIds, 0, `records with ids that were never sent\n${why}`);
  assert.deepEqual(r.badMetadata, [], `files whose coverage metadata does not match their content\n${why}`);
}

/** Transient faults only: nothing parked, nothing duplicated. */
export function assertExactlyOnce(r: ScenarioResult): void {
  assertNoLoss(r);
  const why = `${summarize(r)}\n${resultDetails(r)}`;
  assert.equal(r.duplicatesInFiles, 0, `DUPLICATES: ${r.duplicatesInFiles} extra copies of events in the customer's files\n${why}`);
  assert.equal(r.parkedRecords, 0, `transient faults must be retried, never parked\n${why}`);
  assert.equal(r.fileRecords + r.deadLetteredEvents - r.deadLetteredAndWritten, r.sent, `every event is written once (or dead-lettered)\n${why}`);
}
