import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestStack, messagesFor, type TestStack } from '../support/stack';
import { goodEvent, quarantineLines, writtenRecords, assertWrittenIds, assertQuarantined, run } from './corpus';

/**
 * Events over MAX_EVENT_BYTES (900 KB) are dropped like Braze does, counted and reported through the
 * quarantine with their index and reason; everything else in the message — and big messages made of
 * small events — is written.
 */
let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack.close();
});

const LIMIT = 900 * 1024;
const KB = 1024;

test('events over 900 KB among small ones in one message: each dropped with its index, the small ones written', async () => {
  const integration = await stack.addIntegration();
  const small = [goodEvent(), goodEvent(), goodEvent()];
  const huge1 = goodEvent(undefined, { campaign_name: 'x'.repeat(LIMIT + 1) });
  const huge2 = goodEvent(undefined, { message_extras: JSON.stringify({ blob: 'y'.repeat(2 * LIMIT) }) });
  const messages = messagesFor(integration.id, [[small[0], huge1, small[1], huge2, small[2]]]);
  const report = await run(stack, messages);
  assert.equal(report.droppedOversize, 2);
  assert.equal(report.quarantined.events, 0, 'dropped events are counted as dropped, not quarantined');
  const lines = await quarantineLines(stack, messages);
  for (const [index, event] of [[1, huge1], [3, huge2]] as const) {
    assertQuarantined(lines, {
      messageId: messages[0].messageId,
      eventIndex: index,
      field: 'event',
      reason: 'event is larger than 921600 bytes: dropped (Braze drops events over 900 KB)',
      eventId: event.id,
    });
  }
  assertWrittenIds(await writtenRecords(stack, integration.container), small.map((e) => e.id));
});

test('an event just under 900 KB is written intact', async () => {
  const integration = await stack.addIntegration();
  const neighbour = goodEvent();
  const big = goodEvent(undefined, { campaign_name: '' });
  big.campaign_name = 'z'.repeat(LIMIT - Buffer.byteLength(JSON.stringify(big)) - 10);
  assert.ok(Buffer.byteLength(JSON.stringify(big)) < LIMIT);
  const messages = messagesFor(integration.id, [[neighbour, big]]);
  const report = await run(stack, messages);
  assert.equal(report.droppedOversize, 0);
  const written = await writtenRecords(stack, integration.container);
  assertWrittenIds(written, [neighbour.id, big.id]);
  assert.equal(written.byId.get(big.id as string)?.campaign_name, big.campaign_name);
});

test('multi-byte characters count as UTF-8 bytes: 310,000 × "€" (930,000 bytes) is over the limit', async () => {
  const integration = await stack.addIntegration();
  const neighbour = goodEvent();
  const euros = goodEvent(undefined, { campaign_name: '€'.repeat(310_000) }); // 310,000 chars, 930,000 bytes
  const messages = messagesFor(integration.id, [[neighbour, euros]]);
  const report = await run(stack, messages);
  assert.equal(report.droppedOversize, 1);
  assertQuarantined(await quarantineLines(stack, messages), { messageId: messages[0].messageId, eventIndex: 1, field: 'event', reason: /larger than 921600 bytes/ });
  assertWrittenIds(await writtenRecords(stack, integration.container), [neighbour.id]);
});

test('an oversized message made of small events (3 MB, 2,400 events) is written in full, nothing dropped', async () => {
  const integration = await stack.addIntegration();
  const events = Array.from({ length: 2400 }, () => goodEvent(undefined, { message_extras: 'm'.repeat(KB) }));
  const messages = messagesFor(integration.id, [events]);
  assert.ok(Buffer.byteLength(JSON.stringify(messages[0].body)) > 3 * KB * KB);
  const report = await run(stack, messages);
  assert.equal(report.droppedOversize, 0);
  assert.equal(report.written.events, 2400);
  assertWrittenIds(await writtenRecords(stack, integration.container, { python: false }), events.map((e) => e.id));
});

test('an oversized raw (string) body with oversized and bad events among good ones: each reported by index, the good ones written', async () => {
  const integration = await stack.addIntegration();
  const good = [goodEvent(), goodEvent(), goodEvent()];
  const huge = goodEvent(undefined, { campaign_name: 'h'.repeat(LIMIT) });
  const wrong = goodEvent(undefined, { time: 'noon' });
  const messages = messagesFor(integration.id, [[]]);
  messages[0].body = JSON.stringify({ integrationId: integration.id, events: [good[0], huge, good[1], wrong, good[2]] });
  const report = await run(stack, messages);
  assert.equal(report.droppedOversize, 1);
  assert.equal(report.quarantined.events, 1);
  const lines = await quarantineLines(stack, messages);
  assertQuarantined(lines, { messageId: messages[0].messageId, eventIndex: 1, field: 'event', reason: /larger than 921600 bytes/, eventId: huge.id });
  assertQuarantined(lines, { messageId: messages[0].messageId, eventIndex: 3, field: 'time', reason: 'field "time": expected int, got string "noon"', eventId: wrong.id });
  assertWrittenIds(await writtenRecords(stack, integration.container), good.map((e) => e.id));
});
