import type { QueueMessage } from '../../shared/currents/queueMessage';
import { QUEUED_AT_PROPERTY } from '../../shared/currents/queueMessage';
import type { EventSchema } from '../../shared/currents/schemas/catalog';
import { demoEvent } from '../../shared/local/demoEvents';

/**
 * Benchmark input, generated before any timing starts.
 *
 * Events: `demoEvent` over every Currents v10 type, cycling through the types like the local demo
 * producer (so each message holds a mix of types and each type appears in nearly every message).
 * Bodies are in the form the Functions host hands a `cardinality: 'many'` trigger: JSON-parsed
 * objects (each message's body goes through JSON.stringify → JSON.parse, which also gives the
 * compact, shared-shape objects a real host produces rather than the generator's own objects).
 */
export interface Body {
  integrationId: string;
  events: Record<string, unknown>[];
}

let typeCursor = 0;

export function makeBodies(totalEvents: number, eventsPerMessage: number, integrationId: string, schemas: readonly EventSchema[]): Body[] {
  const bodies: Body[] = [];
  const now = Date.now();
  for (let left = totalEvents; left > 0; left -= eventsPerMessage) {
    const events = [];
    for (let i = 0; i < Math.min(left, eventsPerMessage); i++) events.push(demoEvent(schemas[typeCursor++ % schemas.length], now));
    bodies.push(JSON.parse(JSON.stringify({ integrationId, events })) as Body);
  }
  return bodies;
}

/** The same events addressed to another integration (events arrays shared, not copied). */
export function readdress(bodies: readonly Body[], integrationId: string): Body[] {
  return bodies.map((b) => ({ integrationId, events: b.events }));
}

/** Fixed queued hour: every batch of a run lands in the same date= folder. */
export const QUEUED_AT = '2026-01-15T10:17:00.000Z';

/**
 * Queue messages for one delivery of `bodies`, with fresh sequence numbers (so every repetition writes
 * new, create-only files instead of meeting the previous repetition's files).
 */
export class SequenceSource {
  private next: bigint;

  constructor(start = 1_000_000n) {
    this.next = start;
  }

  messages(bodies: readonly Body[]): QueueMessage[] {
    const enqueued = new Date();
    const out = bodies.map((body) => {
      const seq = this.next++;
      return { body, messageId: `bench-${seq}`, sequenceNumber: seq, enqueuedTimeUtc: enqueued, deliveryCount: 1, applicationProperties: { [QUEUED_AT_PROPERTY]: QUEUED_AT } };
    });
    this.next += 1000n;
    return out;
  }

  /** Advances like messages() without building anything (for the ceiling's file names). */
  take(count: number): bigint {
    const first = this.next;
    this.next += BigInt(count) + 1000n;
    return first;
  }
}

export const eventsIn = (bodies: readonly Body[]) => bodies.reduce((n, b) => n + b.events.length, 0);
