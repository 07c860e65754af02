import type { QuarantineEntry } from '../../shared/currents/quarantine';
import assert from 'node:assert/strict';
import { processCurrentsBatch, type BatchReport } from '../../shared/currents/pipeline';
import { currentsCatalog, type EventSchema } from '../../shared/currents/schemas/catalog';
import { demoEvent } from '../../shared/local/demoEvents';
import { partitionOf, offsetOf, type QueueMessage } from '../../shared/currents/queueMessage';
import { padOffset } from '../../shared/currents/naming';
import { mapLimit } from '../../shared/util/mapLimit';
import { listBlobs, readBlob, type TestStack } from '../support/stack';
import { decodeWithAvsc } from '../support/avsc';
import { decodeWithPython } from '../support/pythonAvro';

/** Shared by the bad-input suites: good-event factories, quarantine/parked readers, and the two-decoder check. */
export const catalog = currentsCatalog();
export const schema = (eventType: string): EventSchema => {
  const s = catalog.get(eventType);
  if (!s) throw new Error(`no schema ${eventType}`);
  return s;
};
export const EMAIL_SEND = 'users.messages.email.Send';

/** A valid event with every field filled (nullable ones too), so one field can be made bad at a time. */
export function goodEvent(eventType = EMAIL_SEND, overrides: Record<string, unknown> = {}): Record<string, unknown> {
  let event = demoEvent(schema(eventType));
  // demoEvent leaves nullable fields out on every fifth call; fill them so "only this field is bad" holds.
  while (schema(eventType).fields.some((f) => !(f.name in event))) event = demoEvent(schema(eventType));
  return { ...event, ...overrides };
}

/** A quarantine line as stored: the entry plus the blob it was read from. */
export type QuarantineLine = QuarantineEntry & { blob: string; quarantinedFor?: string };

export async function quarantineLines(stack: TestStack, messages?: readonly QueueMessage[]): Promise<QuarantineLine[]> {
  const container = stack.app.settings.QUARANTINE_CONTAINER;
  const ids = messages ? new Set(messages.map((m) => m.messageId)) : undefined;
  // Blob names carry `<partition>+<offset>-`: read only the blobs of these messages.
  const keys = messages ? new Set(messages.map((m) => `/${partitionOf(m.sequenceNumber)}+${padOffset(offsetOf(m.sequenceNumber))}-`)) : undefined;
  const blobs = (await listBlobs(stack.service, container)).filter((b) => !keys || keys.has(b.slice(b.indexOf('/'), b.lastIndexOf('-') + 1)));
  const texts = await mapLimit(blobs, 16, async (blob) => (await readBlob(stack.service, container, blob)).toString('utf8'));
  const out: QuarantineLine[] = [];
  blobs.forEach((blob, i) => {
    for (const line of texts[i].split('\n')) {
      if (!line) continue;
      const entry = { blob, ...JSON.parse(line) } as QuarantineLine;
      if (!ids || ids.has(entry.messageId)) out.push(entry);
    }
  });
  // In message order, then event order.
  const order = new Map(messages?.map((m, i) => [m.messageId, i]));
  return out.sort((a, b) => (order.get(a.messageId) ?? 0) - (order.get(b.messageId) ?? 0) || (a.eventIndex ?? -1) - (b.eventIndex ?? -1));
}

export interface ParkedLine {
  blob: string;
  event_type: string;
  record: Record<string, unknown>;
  reason: string;
  queuedHour: string;
}

export async function parkedLines(stack: TestStack, integrationId: string): Promise<ParkedLine[]> {
  const container = stack.app.settings.PARKED_CONTAINER;
  const out: ParkedLine[] = [];
  for (const blob of await listBlobs(stack.service, container, `${integrationId}/`)) {
    for (const line of (await readBlob(stack.service, container, blob)).toString('utf8').split('\n')) {
      if (line) out.push({ blob, ...JSON.parse(line) });
    }
  }
  return out;
}

export interface Written {
  names: string[];
  /** Records by event id, decoded by avsc; Apache Avro (Python) decoded the same files to the same records. */
  byId: Map<string, Record<string, unknown>>;
  records: Record<string, unknown>[];
}

/** Decodes every file in the container with avsc and with Apache Avro (Python) and checks both agree. */
export async function writtenRecords(stack: TestStack, container: string, options: { python?: boolean } = {}): Promise<Written> {
  const names = await listBlobs(stack.service, container);
  const bytes = await mapLimit(names, 16, (n) => readBlob(stack.service, container, n));
  const viaAvsc = await Promise.all(bytes.map((b) => decodeWithAvsc(b)));
  const records = viaAvsc.flatMap((d) => d.records.map((r) => ({ ...r })));
  if (options.python !== false && bytes.length > 0) {
    const viaPython = decodeWithPython(bytes).flatMap((d) => d.records);
    assert.deepEqual(viaPython, records, 'avsc and Apache Avro (Python) decode the files to the same records');
  }
  const byId = new Map(records.map((r) => [r.id as string, r]));
  return { names, byId, records };
}

/** Exactly these event ids were written (no loss, nothing extra — bad events must not slip through). */
export function assertWrittenIds(written: Written, expected: readonly unknown[], label = 'written events'): void {
  assert.deepEqual([...written.records.map((r) => r.id as string)].sort(), [...expected.map(String)].sort(), label);
  assert.equal(new Set(written.records.map((r) => r.id)).size, written.records.length, 'no duplicates');
}

export interface Expected {
  messageId: string;
  eventIndex?: number;
  field: string;
  reason: RegExp | string;
  eventId?: unknown;
}

/** The quarantine names the message, index, field and reason; `reason` as a string must match exactly. */
export function assertQuarantined(lines: readonly QuarantineLine[], expected: Expected): QuarantineLine {
  const line = lines.find((l) => l.messageId === expected.messageId && l.eventIndex === expected.eventIndex);
  assert.ok(line, `no quarantine line for ${expected.messageId}#${expected.eventIndex}; have:\n${lines.map((l) => `${l.messageId}#${l.eventIndex} ${l.field}: ${l.reason}`).join('\n')}`);
  assert.equal(line.field, expected.field, `field for ${expected.messageId}#${expected.eventIndex}`);
  if (typeof expected.reason === 'string') assert.equal(line.reason, expected.reason);
  else assert.match(line.reason, expected.reason);
  assert.equal(line.quarantinedFor, line.reason);
  assert.match(line.sequenceNumber, /^\d+$/);
  if (expected.eventId !== undefined) assert.equal(line.eventId, expected.eventId);
  return line;
}

export async function run(stack: TestStack, messages: QueueMessage[]): Promise<BatchReport> {
  return processCurrentsBatch(messages, stack.app.deps(stack.log));
}

/** Blob names we produce: Braze's layout, nothing taken from event values. */
export function assertSafeBlobNames(names: readonly string[]): void {
  for (const name of names) {
    // eslint-disable-next-line no-control-regex
    assert.doesNotMatch(name, /[\u0000-\u001f\u007f\\]/, `control character or backslash in ${JSON.stringify(name)}`);
    for (const segment of name.split('/')) {
      assert.ok(segment !== '' && segment !== '.' && segment !== '..', `unsafe segment in ${JSON.stringify(name)}`);
    }
  }
}

export const CURRENTS_NAME = (integrationId: string) =>
  new RegExp(
    `^currents/dataexport\\.prod-01\\.AzureBlob\\.integration\\.${integrationId}/event_type=([A-Za-z][A-Za-z.]*[A-Za-z])/date=\\d{4}-\\d{2}-\\d{2}-\\d{2}/version=10/us-01/` +
      `dataexport\\.prod-01\\.AzureBlob\\.integration\\.${integrationId}\\+\\d+\\+\\d{10,}\\.avro$`,
  );
