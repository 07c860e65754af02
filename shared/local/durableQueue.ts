/**
 * A durable, single-file queue with Azure Service Bus peek-lock semantics, for local runs
 * (no Azure, no Docker). It survives process crashes including SIGKILL.
 *
 * Layout: one SQLite file per queue (the file *is* the queue), so queues can be inspected,
 * copied or deleted independently and never contend for each other's write lock.
 *
 * Pragmas:
 * - `journal_mode=WAL`: readers never block the writer, and a crash mid-transaction leaves
 *   uncommitted WAL frames that recovery simply ignores.
 * - `synchronous=FULL`: every commit fsyncs the WAL, so a `send()` that returned survives even
 *   an OS crash or power loss (e.g. a killed dev VM/container), like an acknowledged Service Bus
 *   send. NORMAL would already survive SIGKILL but could drop the last commits on power loss;
 *   FULL costs one fsync per call, which batching (`send([...])`, `complete([...])`) amortises.
 * - busy timeout: several processes may share a queue file; they queue for the write lock
 *   instead of failing with SQLITE_BUSY.
 *
 * Every mutation runs in a `BEGIN IMMEDIATE` transaction, which takes the write lock before
 * selecting rows, so two receivers (in any process) can never lock the same message.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import { setTimeout as sleep } from 'node:timers/promises';

export type ApplicationProperties = Record<string, string | number | boolean>;

export interface OutgoingMessage {
  body: string | Buffer;
  messageId?: string;
  applicationProperties?: ApplicationProperties;
  scheduledEnqueueTimeUtc?: Date;
}

/** A message's data without lock information (what a dead letter keeps). */
export interface QueuedMessage {
  body: Buffer;
  messageId: string;
  sequenceNumber: number;
  enqueuedTimeUtc: Date;
  deliveryCount: number;
  applicationProperties: ApplicationProperties;
}

export interface ReceivedMessage extends QueuedMessage {
  lockToken: string;
  lockedUntilUtc: Date;
}

export interface QueueCounts {
  active: number;
  scheduled: number;
  locked: number;
  deadLettered: number;
}

export interface DeadLetter {
  message: QueuedMessage;
  reason: string;
  description: string;
  deadLetteredAt: Date;
}

export interface DurableQueueOptions {
  /** Peek-lock duration. Default 60 000 (Service Bus default). */
  lockDurationMs?: number;
  /** Deliveries before a message is dead-lettered. Default 10 (Service Bus default). */
  maxDeliveryCount?: number;
  /** Clock (epoch ms) for enqueue times, schedules and lock expiry; injectable for tests. */
  now?: () => number;
}

export interface LostLock {
  lockToken: string;
  sequenceNumber?: number;
  /** Absent when the message no longer exists (it was already completed). */
  messageId?: string;
}

/** Mirrors Service Bus `MessageLockLost`: the lock expired, or the message was settled or redelivered. */
export class MessageLockLostError extends Error {
  readonly code = 'MessageLockLost';

  constructor(readonly lost: LostLock[]) {
    super(
      `Message lock lost for ${lost
        .map((l) => `message ${l.messageId ?? '(already settled)'} (sequenceNumber ${l.sequenceNumber ?? '?'})`)
        .join(', ')}: the lock expired, or the message was already settled or redelivered`,
    );
    this.name = 'MessageLockLostError';
  }
}

export const MAX_DELIVERY_COUNT_EXCEEDED = 'MaxDeliveryCountExceeded';

const BUSY_TIMEOUT_MS = 10_000;
const POLL_INTERVAL_MS = 25;

/*
 * `visible_at` is when the message may next be received: its enqueue/scheduled time, or the
 * expiry of its current lock. A non-null `lock_token` with `visible_at` in the future means
 * "locked"; null with `visible_at` in the future means "scheduled". An expired lock needs no
 * sweeper: the row simply becomes visible again.
 * AUTOINCREMENT (not plain rowid) so sequence numbers are never reused, even after the
 * highest message is completed and the file is reopened.
 * No secondary index: FIFO receive walks rowid order and stops at LIMIT, which is cheapest
 * when the head of the queue is available; settling looks rows up by the seq in the token.
 */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS messages (
  seq            INTEGER PRIMARY KEY AUTOINCREMENT,
  message_id     TEXT    NOT NULL,
  body           BLOB    NOT NULL,
  properties     TEXT    NOT NULL,
  enqueued_at    INTEGER NOT NULL,
  visible_at     INTEGER NOT NULL,
  delivery_count INTEGER NOT NULL DEFAULT 0,
  lock_token     TEXT
);
CREATE TABLE IF NOT EXISTS dead_letters (
  seq              INTEGER PRIMARY KEY,
  message_id       TEXT    NOT NULL,
  body             BLOB    NOT NULL,
  properties       TEXT    NOT NULL,
  enqueued_at      INTEGER NOT NULL,
  delivery_count   INTEGER NOT NULL,
  reason           TEXT    NOT NULL,
  description      TEXT    NOT NULL,
  dead_lettered_at INTEGER NOT NULL
);
`;

interface MessageRow {
  seq: number;
  message_id: string;
  body: Uint8Array;
  properties: string;
  enqueued_at: number;
  delivery_count: number;
}

interface DeadLetterRow extends MessageRow {
  reason: string;
  description: string;
  dead_lettered_at: number;
}

export class DurableQueue {
  private readonly stmt: Record<
    | 'insert'
    | 'selectAvailable'
    | 'lock'
    | 'selectLocked'
    | 'delete'
    | 'unlock'
    | 'renew'
    | 'moveToDeadLetters'
    | 'findMessageId'
    | 'counts'
    | 'deadLetters',
    StatementSync
  >;

  private constructor(
    private readonly db: DatabaseSync,
    private readonly lockDurationMs: number,
    private readonly maxDeliveryCount: number,
    private readonly now: () => number,
  ) {
    const p = (sql: string) => db.prepare(sql);
    this.stmt = {
      insert: p(
        `INSERT INTO messages (message_id, body, properties, enqueued_at, visible_at) VALUES (?, ?, ?, ?, ?)`,
      ),
      selectAvailable: p(`SELECT * FROM messages WHERE visible_at <= ? ORDER BY seq LIMIT ?`),
      lock: p(
        `UPDATE messages SET lock_token = ?, visible_at = ?, delivery_count = delivery_count + 1 WHERE seq = ?`,
      ),
      selectLocked: p(`SELECT * FROM messages WHERE seq = ? AND lock_token = ? AND visible_at > ?`),
      delete: p(`DELETE FROM messages WHERE seq = ?`),
      unlock: p(`UPDATE messages SET lock_token = NULL, visible_at = ? WHERE seq = ?`),
      renew: p(`UPDATE messages SET visible_at = ? WHERE seq = ? AND lock_token = ? AND visible_at > ?`),
      moveToDeadLetters: p(
        `INSERT INTO dead_letters
           SELECT seq, message_id, body, properties, enqueued_at, delivery_count, ?, ?, ? FROM messages WHERE seq = ?`,
      ),
      findMessageId: p(
        `SELECT message_id FROM messages WHERE seq = ?1 UNION ALL SELECT message_id FROM dead_letters WHERE seq = ?1`,
      ),
      counts: p(
        `SELECT COALESCE(SUM(visible_at <= :now), 0)                              AS active,
                COALESCE(SUM(visible_at > :now AND lock_token IS NULL), 0)     AS scheduled,
                COALESCE(SUM(visible_at > :now AND lock_token IS NOT NULL), 0) AS locked,
                (SELECT COUNT(*) FROM dead_letters)                            AS deadLettered
           FROM messages`,
      ),
      deadLetters: p(`SELECT * FROM dead_letters ORDER BY dead_lettered_at, seq LIMIT ?`),
    };
  }

  static open(path: string, options: DurableQueueOptions = {}): DurableQueue {
    const lockDurationMs = options.lockDurationMs ?? 60_000;
    const maxDeliveryCount = options.maxDeliveryCount ?? 10;
    assertPositiveInteger(lockDurationMs, 'lockDurationMs');
    assertPositiveInteger(maxDeliveryCount, 'maxDeliveryCount');
    mkdirSync(dirname(path), { recursive: true });
    const db = new DatabaseSync(path, { timeout: BUSY_TIMEOUT_MS });
    try {
      db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; ${SCHEMA}`);
      return new DurableQueue(db, lockDurationMs, maxDeliveryCount, options.now ?? Date.now);
    } catch (err) {
      db.close();
      throw err;
    }
  }

  /** Enqueues all messages atomically; returns their sequence numbers in order. */
  send(messages: OutgoingMessage[]): number[] {
    return this.transaction((now) =>
      messages.map((m) => {
        const properties = m.applicationProperties ?? {};
        assertApplicationProperties(properties);
        const visibleAt = m.scheduledEnqueueTimeUtc?.getTime() ?? now;
        if (!Number.isFinite(visibleAt)) throw new TypeError('scheduledEnqueueTimeUtc is an invalid Date');
        const body = typeof m.body === 'string' ? Buffer.from(m.body, 'utf8') : m.body;
        const result = this.stmt.insert.run(
          m.messageId ?? randomUUID(),
          body,
          JSON.stringify(properties),
          now,
          visibleAt,
        );
        return Number(result.lastInsertRowid);
      }),
    );
  }

  /**
   * Peek-locks up to `maxMessages` available messages in sequence order, incrementing their
   * delivery count. Messages that were already delivered `maxDeliveryCount` times (their last
   * lock expired) are dead-lettered instead and do not count towards the batch.
   */
  receiveBatch(maxMessages: number): ReceivedMessage[] {
    assertPositiveInteger(maxMessages, 'maxMessages');
    return this.transaction((now) => {
      const lockedUntil = now + this.lockDurationMs;
      const batch: ReceivedMessage[] = [];
      // Each pass locks or dead-letters every row it selects, so this terminates.
      while (batch.length < maxMessages) {
        const rows = this.stmt.selectAvailable.all(now, maxMessages - batch.length) as unknown as MessageRow[];
        if (rows.length === 0) break;
        for (const row of rows) {
          if (row.delivery_count >= this.maxDeliveryCount) {
            this.moveToDeadLetters(row, now);
            continue;
          }
          const lockToken = `${row.seq}:${randomUUID()}`;
          this.stmt.lock.run(lockToken, lockedUntil, row.seq);
          batch.push({
            ...toQueuedMessage({ ...row, delivery_count: row.delivery_count + 1 }),
            lockToken,
            lockedUntilUtc: new Date(lockedUntil),
          });
        }
      }
      return batch;
    });
  }

  /**
   * Polls (real time, not the injected clock) until at least one message is received or
   * `maxWaitMs` elapses. An aborted `signal` resolves early with `[]`, having locked nothing.
   */
  async receiveBatchWait(
    maxMessages: number,
    options: { maxWaitMs: number; signal?: AbortSignal },
  ): Promise<ReceivedMessage[]> {
    const deadline = performance.now() + options.maxWaitMs;
    for (;;) {
      if (options.signal?.aborted) return [];
      const batch = this.receiveBatch(maxMessages);
      const remaining = deadline - performance.now();
      if (batch.length > 0 || remaining <= 0) return batch;
      // The only possible rejection is the abort, which the loop head turns into [].
      await sleep(Math.min(POLL_INTERVAL_MS, remaining), undefined, { signal: options.signal }).catch(() => {});
    }
  }

  /**
   * Deletes the locked messages. Like Service Bus, each message settles independently: valid
   * tokens are completed even if others lost their lock, then MessageLockLostError names those.
   */
  complete(lockTokens: string[]): void {
    this.settle(lockTokens, (row) => this.stmt.delete.run(row.seq));
  }

  /**
   * Releases the locks so the messages are available again now; a message that has used up
   * its deliveries is dead-lettered right away (as Service Bus does on abandon).
   */
  abandon(lockTokens: string[]): void {
    this.settle(lockTokens, (row, now) => {
      if (row.delivery_count >= this.maxDeliveryCount) this.moveToDeadLetters(row, now);
      else this.stmt.unlock.run(now, row.seq);
    });
  }

  /**
   * Extends the locks by the lock duration from now (Service Bus `renewMessageLock`, which the
   * Functions host does for a running invocation). Returns the locks that were already lost.
   */
  renewLocks(lockTokens: string[]): LostLock[] {
    return this.transaction((now) => {
      const lost: LostLock[] = [];
      for (const lockToken of lockTokens) {
        const seq = sequenceNumberOf(lockToken);
        const renewed = seq !== undefined && Number(this.stmt.renew.run(now + this.lockDurationMs, seq, lockToken, now).changes) === 1;
        if (!renewed) lost.push({ lockToken, sequenceNumber: seq });
      }
      return lost;
    });
  }

  deadLetter(lockToken: string, reason: string, description: string): void {
    this.settle([lockToken], (row, now) => this.moveToDeadLetters(row, now, reason, description));
  }

  /** Note: an expired lock on an exhausted message counts as active until the next receive dead-letters it. */
  counts(): QueueCounts {
    const row = this.stmt.counts.get({ now: this.now() }) as unknown as QueueCounts;
    return { active: row.active, scheduled: row.scheduled, locked: row.locked, deadLettered: row.deadLettered };
  }

  /** Oldest dead letters first. */
  deadLetters(limit = 100): DeadLetter[] {
    assertPositiveInteger(limit, 'limit');
    const rows = this.stmt.deadLetters.all(limit) as unknown as DeadLetterRow[];
    return rows.map((row) => ({
      message: toQueuedMessage(row),
      reason: row.reason,
      description: row.description,
      deadLetteredAt: new Date(row.dead_lettered_at),
    }));
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  private settle(lockTokens: string[], action: (row: MessageRow, now: number) => void): void {
    const lost = this.transaction((now) => {
      const lostLocks: LostLock[] = [];
      for (const lockToken of lockTokens) {
        const seq = sequenceNumberOf(lockToken);
        const row =
          seq === undefined
            ? undefined
            : (this.stmt.selectLocked.get(seq, lockToken, now) as unknown as MessageRow | undefined);
        if (row) action(row, now);
        else lostLocks.push({ lockToken, sequenceNumber: seq, messageId: seq === undefined ? undefined : this.messageIdOf(seq) });
      }
      return lostLocks;
    });
    if (lost.length > 0) throw new MessageLockLostError(lost);
  }

  private messageIdOf(seq: number): string | undefined {
    const row = this.stmt.findMessageId.get(seq) as { message_id: string } | undefined;
    return row?.message_id;
  }

  private moveToDeadLetters(
    row: MessageRow,
    now: number,
    reason = MAX_DELIVERY_COUNT_EXCEEDED,
    description = `Message could not be consumed after ${this.maxDeliveryCount} delivery attempts.`,
  ): void {
    this.stmt.moveToDeadLetters.run(reason, description, now, row.seq);
    this.stmt.delete.run(row.seq);
  }

  /** IMMEDIATE takes the write lock up front: no other connection can lock the rows we select. */
  private transaction<T>(fn: (now: number) => T): T {
    this.db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn(this.now());
      this.db.exec('COMMIT');
      return result;
    } catch (err) {
      this.db.exec('ROLLBACK');
      throw err;
    }
  }
}

/** Lock tokens are `<sequenceNumber>:<uuid>` so settling is a primary-key lookup and a lost lock can name its message. */
function sequenceNumberOf(lockToken: string): number | undefined {
  const seq = Number(lockToken.slice(0, lockToken.indexOf(':')));
  return Number.isSafeInteger(seq) && seq > 0 ? seq : undefined;
}

function toQueuedMessage(row: MessageRow): QueuedMessage {
  return {
    body: Buffer.from(row.body.buffer, row.body.byteOffset, row.body.byteLength),
    messageId: row.message_id,
    sequenceNumber: row.seq,
    enqueuedTimeUtc: new Date(row.enqueued_at),
    deliveryCount: row.delivery_count,
    applicationProperties: JSON.parse(row.properties) as ApplicationProperties,
  };
}

/** Properties are stored as JSON, which round-trips exactly these types (NaN/Infinity would not). */
function assertApplicationProperties(properties: ApplicationProperties): void {
  for (const [key, value] of Object.entries(properties)) {
    const ok = typeof value === 'string' || typeof value === 'boolean' || Number.isFinite(value);
    if (!ok) throw new TypeError(`applicationProperties.${key} must be a string, boolean or finite number`);
  }
}

function assertPositiveInteger(value: number, name: string): void {
  if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`${name} must be a positive integer, got ${value}`);
}
