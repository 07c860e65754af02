import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { startAzurite, type RunningAzurite } from '../../shared/local/azurite';
import { DurableQueue, type QueueCounts } from '../../shared/local/durableQueue';
import { DEMO_CONTAINER, DEMO_INTEGRATION_ID } from '../../shared/local/localStack';
import { currentsCatalog } from '../../shared/currents/schemas/catalog';
import { DemoProducer } from '../../shared/local/producer';
import { mapLimit } from '../../shared/util/mapLimit';
import { decodeWithAvsc } from '../support/avsc';
import { readParked } from './harness';

/**
 * The local run (`scripts/local.ts --drain`) as a child process on a queue file this test filled with
 * 50,000 demo events of every type, 50 or 100 per message, ids recorded; the storage
 * (Azurite) lives in this test process, so it outlives the child.
 */
const EVENTS = 50_000;
const script = join(__dirname, '..', '..', 'scripts', 'local.js');

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], extraEnv: Record<string, string> = {}): { child: ChildProcess; exited: Promise<Exit> } {
  const env = { ...process.env, ...extraEnv };
  delete env.CURRENTS_EVENTS_QUEUE;
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', script, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d) => (stdout += d));
  child.stderr!.on('data', (d) => (stderr += d));
  const exited = new Promise<Exit>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })));
  return { child, exited };
}

/** The first lines of a crash (the MessageLockLostError dump lists hundreds of tokens). */
const crashOf = (e: Exit) => e.stderr.split('\n').filter((l) => !/^\s+(lockToken|sequenceNumber|messageId|\{|\},?|\.\.\.)/.test(l)).slice(-12).join('\n');

/** Counts files, up to `atLeast` when given (one cheap page: the poll must not slow the child down). */
async function countFiles(service: BlobServiceClient, atLeast?: number): Promise<number> {
  let n = 0;
  try {
    for await (const page of service.getContainerClient(DEMO_CONTAINER).listBlobsFlat().byPage({ maxPageSize: atLeast ?? 5000 })) {
      n += page.segment.blobItems.length;
      if (atLeast !== undefined) break;
    }
  } catch {
    return 0; // the child has not created the container yet
  }
  return n;
}

interface Fixture {
  perMessage: number;
  dir: string;
  queuePath: string;
  azurite: RunningAzurite;
  service: BlobServiceClient;
  sent: Set<string>;
  children: ChildProcess[];
}

/** The queue file the local run uses: <data-dir>/queues/<CURRENTS_EVENTS_QUEUE>.sqlite, filled like the demo producer would. */
async function fixture(perMessage: number): Promise<Fixture> {
  const dir = mkdtempSync(join(tmpdir(), 'currents-kill-'));
  const azurite = await startAzurite();
  const queuePath = join(dir, 'queues', 'currents-events.sqlite');
  const sent = new Set<string>();
  const queue = DurableQueue.open(queuePath);
  const producer = new DemoProducer(queue, DEMO_INTEGRATION_ID, perMessage, currentsCatalog().availableIn(10), sent);
  for (let left = EVENTS; left > 0; left -= 100 * perMessage) producer.send(Math.min(left, 100 * perMessage));
  queue.close();
  assert.equal(sent.size, EVENTS);
  return { perMessage, dir, queuePath, azurite, service: BlobServiceClient.fromConnectionString(azurite.connectionString), sent, children: [] };
}

async function cleanup(f: Fixture): Promise<void> {
  for (const c of f.children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await f.azurite.close();
  rmSync(f.dir, { recursive: true, force: true });
}

function queueCounts(f: Fixture): QueueCounts {
  const q = DurableQueue.open(f.queuePath);
  try {
    return q.counts();
  } finally {
    q.close();
  }
}

/** Every file decoded, every parked line, every dead letter: where is each sent id? */
async function account(f: Fixture) {
  const container = f.service.getContainerClient(DEMO_CONTAINER);
  const names: string[] = [];
  for await (const b of container.listBlobsFlat()) names.push(b.name);
  const seen = new Map<string, number>();
  let records = 0;
  await mapLimit(names, 8, async (name) => {
    const { records: rs } = await decodeWithAvsc(await container.getBlockBlobClient(name).downloadToBuffer());
    records += rs.length;
    for (const r of rs) seen.set(r.id as string, (seen.get(r.id as string) ?? 0) + 1);
  });
  const parked = await readParked(f.service, 'currents-parked').catch(() => ({ ids: new Map<string, number>(), records: 0, reasons: {} }));
  const deadLettered = new Set<string>();
  const q = DurableQueue.open(f.queuePath);
  for (const l of q.deadLetters(100_000)) for (const e of (JSON.parse(l.message.body.toString('utf8')) as { events: { id: string }[] }).events) deadLettered.add(e.id);
  q.close();
  let lost = 0;
  for (const id of f.sent) if (!seen.has(id) && !parked.ids.has(id) && !deadLettered.has(id)) lost += 1;
  let duplicates = 0;
  for (const n of seen.values()) if (n > 1) duplicates += n - 1;
  const unknown = [...seen.keys()].filter((id) => !f.sent.has(id)).length;
  return { files: names.length, records, parked: parked.records, deadLettered: deadLettered.size, lost, duplicates, unknown };
}

function report(name: string, line: string, extra: unknown): void {
  if (process.env.FAULT_REPORT_FILE) appendFileSync(process.env.FAULT_REPORT_FILE, JSON.stringify({ name, line, extra }) + '\n');
}

/**
 * kill -9 in the middle of writing, then a restart on the same queue file with the same arguments,
 * the way an operator (or a crashed Functions worker) would. Messages the killed process had locked
 * come back after their lock with a higher delivery count; the files it wrote for them must be
 * recognised (coverage metadata) and not written again. Lock 10 s and 50-message batches, so that
 * no batch outlives its lock (that is the next test's subject) and the kill is the only fault.
 */
test('SIGKILL mid-stream, restart on the same queue: every event exactly once', async (t) => {
  const started = performance.now();
  const f = await fixture(50);
  try {
    const args = ['--drain', '--data-dir', f.dir, '--storage-connection-string', f.azurite.connectionString, '--lock-seconds', '10', '--batch-size', '50'];
    const killAfterFiles = 600; // of ~1,880: a third of the way
    const first = run(args);
    f.children.push(first.child);
    let filesAtKill = 0;
    const pollUntil = performance.now() + 120_000;
    while (performance.now() < pollUntil && first.child.exitCode === null) {
      filesAtKill = await countFiles(f.service, killAfterFiles);
      if (filesAtKill >= killAfterFiles) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    first.child.kill('SIGKILL');
    const killed = await first.exited;
    assert.equal(killed.signal, 'SIGKILL', `the first run must still be running when killed (it exited with code ${killed.code}):\n${crashOf(killed)}`);
    const filesAfterKill = await countFiles(f.service);
    const afterKill = queueCounts(f);

    const second = run(args);
    f.children.push(second.child);
    const timer = setTimeout(() => second.child.kill('SIGKILL'), 240_000);
    const done = await second.exited;
    clearTimeout(timer);
    assert.equal(done.code, 0, `the restarted run must drain the queue and exit 0 (code ${done.code}, signal ${done.signal}):\n${crashOf(done)}`);
    const summary = JSON.parse(done.stdout);
    const a = await account(f);

    const line =
      `SIGKILL + restart: ${((performance.now() - started) / 1000).toFixed(1)}s, sent ${EVENTS} events in ${EVENTS / f.perMessage} messages | killed at ${filesAtKill} files ` +
      `(${filesAfterKill} after the kill; queue then ${JSON.stringify(afterKill)}) | restart: ${summary.seconds}s, wrote ${summary.events.written}, found already written ${summary.events.alreadyWritten}, ` +
      `abandoned deliveries ${summary.queue.abandonedDeliveries}, dead-lettered ${summary.queue.deadLettered} | final: ${a.files} files holding ${a.records} records, ` +
      `parked ${a.parked}, dead-lettered ${a.deadLettered} events | LOST ${a.lost} | DUPLICATES ${a.duplicates}`;
    t.diagnostic(line);
    report('SIGKILL + restart', line, { summary, account: a });

    assert.ok(afterKill.active + afterKill.locked > 0 && filesAfterKill < a.files, `killed mid-stream\n${line}`);
    assert.ok(summary.events.alreadyWritten > 0, `the restart met files the killed run wrote for messages it never completed\n${line}`);
    assert.equal(a.unknown, 0, 'records with ids never sent');
    assert.equal(a.lost, 0, `LOSS: ${a.lost} events in no file, not parked, not dead-lettered\n${line}`);
    assert.equal(a.duplicates, 0, `DUPLICATES: ${a.duplicates} extra copies in the files\n${line}`);
    assert.equal(a.parked + a.deadLettered, 0, `nothing parked or dead-lettered\n${line}`);
    assert.equal(a.records, EVENTS, `every event exactly once\n${line}`);
  } finally {
    await cleanup(f);
  }
});

/**
 * The same local run with a 2 s peek-lock and its default 500-message batches (host.json's
 * maxMessageBatchSize) of 25,000 events, written as files of at most 25 events (MAX_EVENTS_PER_FILE),
 * so that each batch (~1,000 files) surely takes longer than the lock. The Functions host renews the locks of a
 * running invocation (maxAutoLockRenewalDuration, 5 min by default); the local host must too, or at
 * least survive a lost lock — not crash, and not write anything twice when the expired messages are
 * delivered again while the first invocation is still writing them.
 */
test('a batch that outlives its 2 s peek-lock: the local run neither crashes nor writes twice', async (t) => {
  const started = performance.now();
  const f = await fixture(50);
  try {
    const args = ['--drain', '--data-dir', f.dir, '--storage-connection-string', f.azurite.connectionString, '--lock-seconds', '2'];
    const r = run(args, { MAX_EVENTS_PER_FILE: '25' });
    f.children.push(r.child);
    const timer = setTimeout(() => r.child.kill('SIGKILL'), 240_000);
    const done = await r.exited;
    clearTimeout(timer);
    const a = await account(f);
    const line =
      `2 s lock, 500-message batches of ~1,000 files: ${((performance.now() - started) / 1000).toFixed(1)}s, exit code ${done.code} | ${a.files} files holding ${a.records} records | ` +
      `left in queue ${JSON.stringify(queueCounts(f))} | LOST ${a.lost} (not written yet) | DUPLICATES ${a.duplicates}`;
    t.diagnostic(line);
    report('2 s lock', line, { account: a });
    assert.equal(done.code, 0, `CRASH: the local run died when a batch outlived its lock (no lock renewal; settling a lost lock throws out of the consumer loop):\n${crashOf(done)}\n${line}`);
    assert.equal(a.duplicates, 0, `DUPLICATES: ${a.duplicates}\n${line}`);
    assert.equal(a.lost, 0, `LOSS: ${a.lost}\n${line}`);
    assert.equal(a.records, EVENTS, line);
  } finally {
    await cleanup(f);
  }
});
