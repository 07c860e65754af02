import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestStack, messagesFor, listBlobs, type TestStack } from '../support/stack';
import { QUEUED_AT_PROPERTY } from '../../shared/currents/queueMessage';
import { goodEvent, parkedLines, quarantineLines, writtenRecords, assertWrittenIds, assertSafeBlobNames, run, CURRENTS_NAME } from './corpus';

/**
 * Event values are data, never paths: "../", "\u0000", backslashes and URL-encoded traversal inside
 * fields are written verbatim into the Avro records (and parked/quarantined verbatim), while every
 * blob name keeps the Braze layout. The queued-at property, the one producer-controlled input that
 * does shape a path (date=…), must not break the YYYY-MM-DD-HH layout either.
 */
let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack.close();
});

const HOSTILE = [
  '../../../../etc/passwd',
  '..\\..\\..\\windows\\system32',
  '/absolute/path',
  'a/b/../../c',
  '%2e%2e%2f%2e%2e%2f',
  '..%c0%af..%c0%af',
  'nul\u0000byte',
  '\u0000',
  '\u0000../\u0000',
  'line\nbreak\r\nand\ttab',
  'event_type=users.messages.email.Send/date=1999-01-01-00/version=10/',
  'currents/dataexport.prod-01.AzureBlob.integration.000000000000000000000000/x.avro',
];

test('"../", NUL and friends in event values are written verbatim inside Avro (both decoders), never into blob paths', async () => {
  const integration = await stack.addIntegration();
  const events = HOSTILE.map((v, i) =>
    goodEvent(undefined, { id: `${v}#${i}`, user_id: v, external_user_id: v, campaign_name: v, email_address: v, message_extras: JSON.stringify({ path: v }) }),
  );
  const messages = messagesFor(integration.id, [events]);
  const report = await run(stack, messages);
  assert.equal(report.quarantined.events, 0);
  const written = await writtenRecords(stack, integration.container);
  assertWrittenIds(written, events.map((e) => e.id));
  for (const e of events) {
    const r = written.byId.get(e.id as string)!;
    for (const f of ['user_id', 'external_user_id', 'campaign_name', 'email_address', 'message_extras']) assert.equal(r[f], e[f], `${f} verbatim`);
  }
  assert.equal(written.names.length, 1);
  for (const n of written.names) assert.match(n, CURRENTS_NAME(integration.id));
  assertSafeBlobNames(await listBlobs(stack.service, integration.container));
});

test('the same values in parked events (broken destination) and quarantined events stay verbatim, with safe blob names', async () => {
  const broken = await stack.addIntegration({}, { createContainer: false });
  const parkedEvents = HOSTILE.map((v, i) => goodEvent(undefined, { id: `p${i}-${v}`, campaign_name: v }));
  const badEvents = HOSTILE.map((v, i) => goodEvent(undefined, { id: `q${i}-${v}`, campaign_name: v, time: v }));
  const messages = messagesFor(broken.id, [[...parkedEvents, ...badEvents]]);
  const report = await run(stack, messages);
  assert.equal(report.parked.events, HOSTILE.length);
  assert.equal(report.quarantined.events, HOSTILE.length);
  const parked = await parkedLines(stack, broken.id);
  assert.deepEqual(parked.map((p) => p.record.campaign_name), HOSTILE);
  assert.deepEqual(parked.map((p) => p.record.id), parkedEvents.map((e) => e.id));
  const lines = await quarantineLines(stack, messages);
  assert.deepEqual(lines.map((l) => l.eventId), badEvents.map((e) => e.id));
  assert.deepEqual(lines.map((l) => (l.payload as Record<string, unknown>).campaign_name), HOSTILE);
  assertSafeBlobNames([...(await listBlobs(stack.service, stack.app.settings.PARKED_CONTAINER)), ...(await listBlobs(stack.service, stack.app.settings.QUARANTINE_CONTAINER))]);
});

test('a queued-at property that is not a time ("../../x", garbage, booleans) falls back to the enqueued hour', async () => {
  const integration = await stack.addIntegration();
  const values: unknown[] = ['../../x', 'not a date', '2026-13-45T99:00:00Z', true, '', '\u0000'];
  const events = values.map(() => goodEvent());
  const messages = messagesFor(integration.id, events.map((e) => [e]));
  values.forEach((v, i) => (messages[i].applicationProperties = { [QUEUED_AT_PROPERTY]: v }));
  await run(stack, messages);
  const written = await writtenRecords(stack, integration.container);
  assertWrittenIds(written, events.map((e) => e.id));
  for (const n of written.names) assert.match(n, CURRENTS_NAME(integration.id));
});

// A producer that sends epoch microseconds (or nanoseconds) where milliseconds are expected puts the
// queued hour tens of thousands of years ahead: the path must stay date=YYYY-MM-DD-HH (fall back to the
// enqueued time, or quarantine with a clear reason) — never date=+054894-… .
test('a queued-at property far outside the 4-digit-year range (epoch microseconds) keeps date=YYYY-MM-DD-HH paths', async () => {
  const integration = await stack.addIntegration();
  const micros = Date.UTC(2026, 11, 4, 10) * 1000;
  const values: unknown[] = [micros, String(micros), 8.64e15, -8.64e15, '+275760-09-13T00:00:00.000Z'];
  const events = values.map(() => goodEvent());
  const messages = messagesFor(integration.id, events.map((e) => [e]));
  values.forEach((v, i) => (messages[i].applicationProperties = { [QUEUED_AT_PROPERTY]: v }));
  const report = await run(stack, messages);
  const names = [...(await listBlobs(stack.service, integration.container)), ...(await listBlobs(stack.service, stack.app.settings.QUARANTINE_CONTAINER))];
  for (const n of names) assert.match(n, /(^|\/)date=\d{4}-\d{2}-\d{2}(-\d{2})?\//, `malformed date segment in ${n}`);
  assert.equal(report.written.events + report.quarantined.events, events.length, 'every event written or quarantined');
});
