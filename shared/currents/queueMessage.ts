import { INTEGRATION_ID } from '../integrations/integration';

/**
 * One Service Bus message as the pipeline sees it: plain data, independent of the Functions trigger.
 * Contract (docs/message-contract.md): body `{"integrationId": "<24-hex>", "events": [{ "event_type": …, … }]}`.
 */
export interface QueueMessage {
  body: unknown;
  messageId: string;
  sequenceNumber: bigint;
  enqueuedTimeUtc: Date;
  deliveryCount: number;
  applicationProperties: Record<string, unknown>;
}

/** Application property with the time the events were first queued; a re-sent message keeps its hour. */
export const QUEUED_AT_PROPERTY = 'currentsQueuedAt';

const OFFSET_BITS = 48n;
const OFFSET_MASK = (1n << OFFSET_BITS) - 1n;

/** In partitioned entities the top 16 bits of a sequence number are the partition id. */
export function partitionOf(sequenceNumber: bigint): number {
  return Number(sequenceNumber >> OFFSET_BITS);
}

export function offsetOf(sequenceNumber: bigint): bigint {
  return sequenceNumber & OFFSET_MASK;
}

export function queuedTimeOf(message: QueueMessage): Date {
  const raw = message.applicationProperties[QUEUED_AT_PROPERTY];
  if (raw !== undefined && raw !== null) {
    const time = typeof raw === 'number' ? new Date(raw) : raw instanceof Date ? raw : new Date(String(raw));
    // Only times that fit the date=YYYY-MM-DD-HH layout; epoch µs/ns sent as ms land in year 50,000+.
    if (!Number.isNaN(time.getTime()) && time.getTime() >= 0 && time.getUTCFullYear() <= 9999) return time;
  }
  return message.enqueuedTimeUtc;
}

export type ParsedBody =
  | { ok: true; integrationId: string; events: unknown[] }
  | { ok: false; field: string; reason: string };

export function parseBody(body: unknown): ParsedBody {
  let value = body;
  if (Buffer.isBuffer(value) || value instanceof Uint8Array) value = Buffer.from(value).toString('utf8');
  if (typeof value === 'string') {
    // RFC 8259 §8.1: a parser may ignore a UTF-8 byte order mark (.NET/PowerShell producers emit one).
    const text = value.charCodeAt(0) === 0xfeff ? value.slice(1) : value;
    try {
      value = JSON.parse(text);
    } catch (err) {
      return { ok: false, field: 'body', reason: `body is not valid JSON: ${(err as Error).message}` };
    }
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { ok: false, field: 'body', reason: 'body must be a JSON object {"integrationId", "events"}' };
  }
  const { integrationId, events } = value as { integrationId?: unknown; events?: unknown };
  if (typeof integrationId !== 'string' || !INTEGRATION_ID.test(integrationId)) {
    return { ok: false, field: 'integrationId', reason: 'integrationId must be a 24-character lowercase hex string' };
  }
  if (!Array.isArray(events)) return { ok: false, field: 'events', reason: 'events must be an array' };
  return { ok: true, integrationId, events };
}
