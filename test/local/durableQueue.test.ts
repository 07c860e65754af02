import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { describe, it, type TestContext } from 'node:test';
import {
  DurableQueue,
  MAX_DELIVERY_COUNT_EXCEEDED,
  MessageLockLostError,
  type DurableQueueOptions,
} from '../../shared/local/durableQueue';

/*
 * This file doubles as the child process for the SIGKILL tests, so the child runs exactly the
 * compiled module under test: `node durableQueue.test.js --durable-queue-child <mode> <dbPath>`.
 */
const CHILD_FLAG = '--durable-queue-child';
type ChildMode = 'send-then-lock' | 'send-forever';
const CHILD_MESSAGES = 2000;
const CHILD_LOCKED = 100;

if (process.argv[2] === CHILD_FLAG) {
  runChild(process.argv[3] as ChildMode, process.argv[4]!);
} else {
  describe('DurableQueue', defineTests);
}

/** Never returns normally: the parent SIGKILLs it. */
function runChild(mode: ChildMode, dbPath: string): void {
  const queue = DurableQueue.open(dbPath);
  if (mode === 'send-then-lock') {
    // Several commits, then an outstanding lock, and no close(): the WAL is never checkpointed.
    for (let i = 0; i < CHILD_MESSAGES; i += 250) {
      queue.send(range(i, i + 250).map((n) => ({ messageId: `m-${n}`, body: `body-${n}` })));
    }
    const locked = queue.receiveBatch(CHILD_LOCKED).map((m) => m.sequenceNumber);
    process.stdout.write(`${JSON.stringify(locked)}\n`);
    setInterval(() => {}, 60_000);
  } else {
    // One message per transaction, acknowledging each seq only after send() returned.
    for (let n = 0; ; n++) {
      const [seq] = queue.send([{ messageId: `m-${n}`, body: `body-${n}` }]);
      process.stdout.write(`${seq}\n`); // synchronous for pipes on Linux
    }
  }
}

function defineTests(): void {
  const T0 = Date.UTC(2025, 0, 1);

  /** A queue in a fresh temp dir with a controllable clock; removed after the test. */
  function openQueue(t: TestContext, options: DurableQueueOptions = {}) {
    const dir = mkdtempSync(join(tmpdir(), 'durable-queue-'));
    const path = join(dir, 'queue.db');
    const clock = { now: T0 };
    const open = (extra: DurableQueueOptions = {}) =>
      DurableQueue.open(path, { now: () => clock.now, ...options, ...extra });
    const queue = open();
    t.after(() => {
      queue.close();
      rmSync(dir, { recursive: true, force: true });
    });
    return { queue, clock, path, open };
  }

  const bodies = (n: number) => range(0, n).map((i) => ({ body: `msg-${i}` }));

  it('delivers FIFO by sequence number, in batches of at most maxMessages', (t) => {
    const { queue } = openQueue(t);
    const seqs = queue.send(bodies(5));
    assert.deepEqual(seqs, [1, 2, 3, 4, 5]);

    const first = queue.receiveBatch(3);
    assert.deepEqual(first.map((m) => m.body.toString()), ['msg-0', 'msg-1', 'msg-2']);
    assert.deepEqual(first.map((m) => m.sequenceNumber), [1, 2, 3]);
    const second = queue.receiveBatch(3);
    assert.deepEqual(second.map((m) => m.sequenceNumber), [4, 5]);
    assert.deepEqual(queue.receiveBatch(3), []);
  });

  it('fills in received-message metadata', (t) => {
    const { queue } = openQueue(t, { lockDurationMs: 30_000 });
    queue.send([{ body: Buffer.from([0, 255, 1]), messageId: 'id-1' }, { body: 'no id' }]);
    const [a, b] = queue.receiveBatch(2);
    assert.deepEqual(a!.body, Buffer.from([0, 255, 1]));
    assert.equal(a!.messageId, 'id-1');
    assert.equal(a!.deliveryCount, 1);
    assert.equal(a!.enqueuedTimeUtc.getTime(), T0);
    assert.equal(a!.lockedUntilUtc.getTime(), T0 + 30_000);
    assert.match(b!.messageId, /^[0-9a-f-]{36}$/);
    assert.notEqual(a!.lockToken, b!.lockToken);
  });

  it('hides a locked message until complete, abandon or lock expiry', (t) => {
    const { queue, clock } = openQueue(t, { lockDurationMs: 1000 });
    queue.send(bodies(3));
    const [m1, m2, m3] = queue.receiveBatch(3);
    assert.deepEqual(queue.counts(), { active: 0, scheduled: 0, locked: 3, deadLettered: 0 });
    assert.deepEqual(queue.receiveBatch(10), []);

    queue.complete([m1!.lockToken]);
    queue.abandon([m2!.lockToken]);
    assert.deepEqual(queue.counts(), { active: 1, scheduled: 0, locked: 1, deadLettered: 0 });
    assert.deepEqual(queue.receiveBatch(10).map((m) => m.sequenceNumber), [m2!.sequenceNumber]);

    clock.now += 999;
    assert.deepEqual(queue.receiveBatch(10), []);
    clock.now += 1;
    const redelivered = queue.receiveBatch(10);
    assert.deepEqual(redelivered.map((m) => [m.sequenceNumber, m.deliveryCount]), [
      [m2!.sequenceNumber, 3], // abandoned, re-received at T0, and that lock expired too
      [m3!.sequenceNumber, 2],
    ]);
  });

  it('abandon makes the message available now and bumps deliveryCount on the next receive', (t) => {
    const { queue } = openQueue(t);
    queue.send(bodies(1));
    for (const expected of [1, 2, 3]) {
      const [m] = queue.receiveBatch(1);
      assert.equal(m!.deliveryCount, expected);
      queue.abandon([m!.lockToken]);
    }
  });

  it('complete with an expired or superseded lock throws MessageLockLostError naming the message', (t) => {
    const { queue, clock } = openQueue(t, { lockDurationMs: 1000 });
    queue.send([
      { body: 'a', messageId: 'a' },
      { body: 'b', messageId: 'b' },
    ]);
    const [a, b] = queue.receiveBatch(2);
    clock.now += 1000;
    const [aAgain] = queue.receiveBatch(1); // 'a' redelivered: its old token is superseded

    assert.throws(
      () => queue.complete([a!.lockToken, aAgain!.lockToken, b!.lockToken]),
      (err: unknown) => {
        assert.ok(err instanceof MessageLockLostError);
        assert.equal(err.code, 'MessageLockLost');
        assert.deepEqual(
          err.lost.map((l) => [l.messageId, l.sequenceNumber]),
          [
            ['a', 1],
            ['b', 2], // expired but never redelivered
          ],
        );
        assert.match(err.message, /message a \(sequenceNumber 1\).*message b \(sequenceNumber 2\)/);
        return true;
      },
    );
    // The valid token was still settled, as Service Bus settles per message.
    assert.deepEqual(queue.receiveBatch(10).map((m) => m.messageId), ['b']);
    assert.throws(() => queue.complete([aAgain!.lockToken]), /already settled/);
    assert.throws(() => queue.abandon(['garbage']), MessageLockLostError);
  });

  it('dead-letters on abandon once maxDeliveryCount deliveries are used up', (t) => {
    const { queue } = openQueue(t, { maxDeliveryCount: 3 });
    queue.send([{ body: 'poison', messageId: 'p', applicationProperties: { k: 1 } }]);
    for (let i = 0; i < 3; i++) queue.abandon([queue.receiveBatch(1)[0]!.lockToken]);

    assert.deepEqual(queue.counts(), { active: 0, scheduled: 0, locked: 0, deadLettered: 1 });
    assert.deepEqual(queue.receiveBatch(1), []);
    const [dl] = queue.deadLetters();
    assert.equal(dl!.reason, MAX_DELIVERY_COUNT_EXCEEDED);
    assert.match(dl!.description, /3 delivery attempts/);
    assert.equal(dl!.message.messageId, 'p');
    assert.equal(dl!.message.deliveryCount, 3);
    assert.equal(dl!.message.body.toString(), 'poison');
    assert.deepEqual(dl!.message.applicationProperties, { k: 1 });
    assert.equal(dl!.deadLetteredAt.getTime(), T0);
  });

  it('dead-letters on receive when lock expiries used up the deliveries, and keeps filling the batch', (t) => {
    const { queue, clock } = openQueue(t, { maxDeliveryCount: 2, lockDurationMs: 1000 });
    queue.send([{ body: 'poison' }]);
    queue.receiveBatch(1);
    clock.now += 1000;
    assert.equal(queue.receiveBatch(1)[0]!.deliveryCount, 2);
    clock.now += 1000;
    queue.send([{ body: 'next' }]);

    const batch = queue.receiveBatch(1);
    assert.deepEqual(batch.map((m) => m.body.toString()), ['next']);
    assert.deepEqual(queue.deadLetters().map((d) => [d.message.body.toString(), d.reason]), [
      ['poison', MAX_DELIVERY_COUNT_EXCEEDED],
    ]);
  });

  it('deadLetter() records the caller’s reason and description', (t) => {
    const { queue } = openQueue(t);
    queue.send(bodies(1));
    const [m] = queue.receiveBatch(1);
    queue.deadLetter(m!.lockToken, 'SchemaInvalid', 'field x missing');
    assert.deepEqual(queue.deadLetters().map((d) => [d.reason, d.description, d.message.deliveryCount]), [
      ['SchemaInvalid', 'field x missing', 1],
    ]);
    assert.throws(() => queue.deadLetter(m!.lockToken, 'again', ''), MessageLockLostError);
  });

  it('keeps scheduled messages invisible until their time', (t) => {
    const { queue, clock } = openQueue(t);
    queue.send([
      { body: 'later', scheduledEnqueueTimeUtc: new Date(T0 + 5000) },
      { body: 'now' },
      { body: 'past', scheduledEnqueueTimeUtc: new Date(T0 - 1) },
    ]);
    assert.deepEqual(queue.counts(), { active: 2, scheduled: 1, locked: 0, deadLettered: 0 });
    assert.deepEqual(queue.receiveBatch(10).map((m) => m.body.toString()), ['now', 'past']);
    clock.now = T0 + 4999;
    assert.deepEqual(queue.receiveBatch(10), []);
    clock.now = T0 + 5000;
    assert.deepEqual(queue.receiveBatch(10).map((m) => m.body.toString()), ['later']);
  });

  it('round-trips applicationProperties with their types and rejects unrepresentable values', (t) => {
    const { queue } = openQueue(t);
    const applicationProperties = { s: 'x', n: 42, f: 1.5, neg: -3, t: true, fa: false, empty: '', zero: 0 };
    queue.send([{ body: '', applicationProperties }, { body: 'none' }]);
    const [a, b] = queue.receiveBatch(2);
    assert.deepEqual(a!.applicationProperties, applicationProperties);
    assert.equal(a!.body.length, 0);
    assert.deepEqual(b!.applicationProperties, {});

    assert.throws(() => queue.send([{ body: 'x', applicationProperties: { bad: NaN } }]), TypeError);
    assert.equal(queue.counts().active, 0, 'a rejected send enqueues nothing');
  });

  it('never reuses sequence numbers, even after completing the newest message and reopening', (t) => {
    const { queue, open } = openQueue(t);
    queue.send(bodies(3));
    queue.complete(queue.receiveBatch(3).map((m) => m.lockToken));
    queue.close();

    const reopened = open();
    t.after(() => reopened.close());
    assert.deepEqual(reopened.send(bodies(2)), [4, 5]);
  });

  it('never locks the same message for two connections to the same file', (t) => {
    const { queue, open } = openQueue(t);
    const other = open();
    t.after(() => other.close());
    queue.send(bodies(10));
    const a = queue.receiveBatch(4).map((m) => m.sequenceNumber);
    const b = other.receiveBatch(10).map((m) => m.sequenceNumber);
    assert.deepEqual(a, [1, 2, 3, 4]);
    assert.deepEqual(b, [5, 6, 7, 8, 9, 10]);
  });

  it('receiveBatchWait waits for a message, times out with [], and stops on abort', async (t) => {
    const { queue } = openQueue(t);
    assert.deepEqual(await queue.receiveBatchWait(5, { maxWaitMs: 60 }), []);

    setTimeout(() => queue.send(bodies(1)), 50);
    const started = performance.now();
    const got = await queue.receiveBatchWait(5, { maxWaitMs: 5000 });
    assert.equal(got.length, 1);
    assert.ok(performance.now() - started < 2000);

    const controller = new AbortController();
    setTimeout(() => controller.abort(), 50);
    const abortedAt = performance.now();
    assert.deepEqual(await queue.receiveBatchWait(5, { maxWaitMs: 10_000, signal: controller.signal }), []);
    assert.ok(performance.now() - abortedAt < 2000);
  });

  it(`keeps all ${CHILD_MESSAGES} messages exactly once after SIGKILL; locked ones return after lock expiry`, { timeout: 60_000 }, async (t) => {
    const { path } = openQueue(t);
    const lines = await runChildUntilKilled('send-then-lock', path, (seen) => seen.length >= 1);
    const lockedByChild = JSON.parse(lines[0]!) as number[];
    assert.equal(lockedByChild.length, CHILD_LOCKED);
    assertIntegrity(path);

    const now = Date.now();
    const afterCrash = DurableQueue.open(path, { now: () => now });
    t.after(() => afterCrash.close());
    assert.deepEqual(afterCrash.counts(), {
      active: CHILD_MESSAGES - CHILD_LOCKED,
      scheduled: 0,
      locked: CHILD_LOCKED,
      deadLettered: 0,
    });

    const afterExpiry = DurableQueue.open(path, { now: () => now + 60_000 });
    t.after(() => afterExpiry.close());
    const all = afterExpiry.receiveBatch(CHILD_MESSAGES * 2);
    assert.deepEqual(all.map((m) => m.sequenceNumber), range(1, CHILD_MESSAGES + 1));
    assert.deepEqual(all.map((m) => m.messageId), range(0, CHILD_MESSAGES).map((n) => `m-${n}`));
    assert.deepEqual(all.map((m) => m.body.toString()), range(0, CHILD_MESSAGES).map((n) => `body-${n}`));
    const redelivered = all.filter((m) => m.deliveryCount === 2).map((m) => m.sequenceNumber);
    assert.deepEqual(redelivered, lockedByChild);
    assert.ok(all.every((m) => m.deliveryCount === 1 || redelivered.includes(m.sequenceNumber)));
  });

  it('loses no acknowledged send and leaves no partial one when SIGKILLed mid-write', { timeout: 60_000 }, async (t) => {
    const { queue, path } = openQueue(t);
    queue.close(); // let the child own the file while it runs
    const lines = await runChildUntilKilled('send-forever', path, (seen) => seen.length >= 500);
    const lastAcknowledged = Number(lines.at(-1));
    assertIntegrity(path);

    const reopened = DurableQueue.open(path);
    t.after(() => reopened.close());
    const all = reopened.receiveBatch(lastAcknowledged + 100);
    // At most the one send in flight at the kill may have committed without being acknowledged.
    assert.ok(all.length === lastAcknowledged || all.length === lastAcknowledged + 1, `${all.length} vs ${lastAcknowledged}`);
    assert.deepEqual(all.map((m) => m.sequenceNumber), range(1, all.length + 1));
    assert.deepEqual(all.map((m) => m.messageId), range(0, all.length).map((n) => `m-${n}`));
  });
}

/** Runs this file in child mode, SIGKILLs it once `killWhen` is satisfied, returns its complete stdout lines. */
async function runChildUntilKilled(
  mode: ChildMode,
  dbPath: string,
  killWhen: (lines: string[]) => boolean,
): Promise<string[]> {
  const child = spawn(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', __filename, CHILD_FLAG, mode, dbPath],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
    if (killWhen(lines)) child.kill('SIGKILL');
  });
  const [code, signal] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  assert.equal(signal, 'SIGKILL', `child exited by itself (code ${code}): ${stderr}`);
  return lines;
}

function assertIntegrity(path: string): void {
  const db = new DatabaseSync(path);
  try {
    assert.deepEqual({ ...db.prepare('PRAGMA integrity_check').get() }, { integrity_check: 'ok' });
  } finally {
    db.close();
  }
}

function range(from: number, to: number): number[] {
  return Array.from({ length: to - from }, (_, i) => from + i);
}
