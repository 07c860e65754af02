import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestStack, messagesFor, type TestStack } from '../support/stack';
import { goodEvent, quarantineLines, writtenRecords, assertWrittenIds, assertQuarantined, run, EMAIL_SEND } from './corpus';

/**
 * Ill-typed and missing fields, one bad field per event, each bad event between good ones in the same
 * message: the quarantine names the message, the event's index and id, the field and what was expected
 * vs. what came; every good event of the batch is in the files (both decoders), no bad one is.
 */
let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack.close();
});

interface Case {
  eventType: string;
  field: string;
  value: unknown;
  reason: RegExp | string;
  /** Expected quarantine `field` when it is not the field itself. */
  reportedField?: string;
}

/** One message per case: [good, bad, good]. */
async function check(cases: Case[]) {
  const integration = await stack.addIntegration();
  const good: Record<string, unknown>[] = [];
  const bad: Record<string, unknown>[] = [];
  const slots = cases.map((c) => {
    const before = goodEvent(c.eventType);
    const after = goodEvent(c.eventType);
    const event = goodEvent(c.eventType);
    if (c.value === undefined) delete event[c.field];
    else event[c.field] = c.value;
    good.push(before, after);
    bad.push(event);
    return [before, event, after];
  });
  const messages = messagesFor(integration.id, slots);
  const report = await run(stack, messages);
  const lines = await quarantineLines(stack, messages);
  cases.forEach((c, i) =>
    assertQuarantined(lines, {
      messageId: messages[i].messageId,
      eventIndex: 1,
      field: c.reportedField ?? c.field,
      reason: c.reason,
      eventId: c.field === 'id' ? undefined : bad[i].id,
    }),
  );
  assert.equal(report.quarantined.events, cases.length);
  const written = await writtenRecords(stack, integration.container);
  assertWrittenIds(written, good.map((e) => e.id));
  return { lines, written, messages };
}

test('string where an int is expected, and other wrong types for int (float, boolean, object, array)', async () => {
  await check([
    { eventType: EMAIL_SEND, field: 'time', value: '1733300000', reason: 'field "time": expected int, got string "1733300000"' },
    { eventType: EMAIL_SEND, field: 'time', value: 1733300000.5, reason: 'field "time": expected int, got number 1733300000.5' },
    { eventType: EMAIL_SEND, field: 'time', value: 0.1, reason: 'field "time": expected int, got number 0.1' },
    { eventType: EMAIL_SEND, field: 'time', value: true, reason: 'field "time": expected int, got boolean' },
    { eventType: EMAIL_SEND, field: 'time', value: { seconds: 1 }, reason: 'field "time": expected int, got object' },
    { eventType: EMAIL_SEND, field: 'time', value: [1733300000], reason: 'field "time": expected int, got array' },
    { eventType: 'users.RandomBucketNumberUpdate', field: 'random_bucket_number', value: '7', reason: 'field "random_bucket_number": expected int, got string "7"' },
  ]);
});

test('ints outside the 32-bit range are refused (not wrapped or truncated); the range edges are written', async () => {
  await check([
    { eventType: EMAIL_SEND, field: 'time', value: 2 ** 31, reason: 'field "time": expected int, got number 2147483648' },
    { eventType: EMAIL_SEND, field: 'time', value: -(2 ** 31) - 1, reason: 'field "time": expected int, got number -2147483649' },
    { eventType: EMAIL_SEND, field: 'time', value: 1733300000000, reason: 'field "time": expected int, got number 1733300000000' },
    { eventType: EMAIL_SEND, field: 'time', value: 1e300, reason: 'field "time": expected int, got number 1e+300' },
  ]);
  const integration = await stack.addIntegration();
  const edges = [goodEvent(EMAIL_SEND, { time: 2 ** 31 - 1 }), goodEvent(EMAIL_SEND, { time: -(2 ** 31) }), goodEvent(EMAIL_SEND, { time: 0 })];
  await run(stack, messagesFor(integration.id, [edges]));
  const written = await writtenRecords(stack, integration.container);
  assert.deepEqual(edges.map((e) => written.byId.get(e.id as string)?.time), [2147483647, -2147483648, 0]);
});

test('longs must be safe integers; strings for longs are refused', async () => {
  await check([
    { eventType: 'users.messages.whatsapp.Send', field: 'time', value: 2 ** 53, reason: 'field "time": expected long, got number 9007199254740992' },
    { eventType: 'users.messages.whatsapp.Send', field: 'time', value: '1733300000', reason: 'field "time": expected long, got string "1733300000"' },
    { eventType: 'users.messages.whatsapp.Send', field: 'time', value: 1.5, reason: 'field "time": expected long, got number 1.5' },
  ]);
});

test('object, array, boolean and number where a string is expected (required and nullable string fields)', async () => {
  await check([
    { eventType: EMAIL_SEND, field: 'email_address', value: { address: 'jane@example.com' }, reason: 'field "email_address": expected string, got object' },
    { eventType: EMAIL_SEND, field: 'email_address', value: ['jane@example.com'], reason: 'field "email_address": expected string, got array' },
    { eventType: EMAIL_SEND, field: 'email_address', value: true, reason: 'field "email_address": expected string, got boolean' },
    { eventType: EMAIL_SEND, field: 'email_address', value: 42, reason: 'field "email_address": expected string, got number 42' },
    { eventType: EMAIL_SEND, field: 'user_id', value: 1.5, reason: 'field "user_id": expected string, got number 1.5' },
    { eventType: EMAIL_SEND, field: 'campaign_name', value: { name: 'x' }, reason: 'field "campaign_name": expected string, got object' },
    { eventType: EMAIL_SEND, field: 'external_user_id', value: false, reason: 'field "external_user_id": expected string, got boolean' },
    { eventType: EMAIL_SEND, field: 'id', value: 12345, reason: 'field "id": expected string, got number 12345' },
  ]);
});

test('booleans, floats and arrays of strings with the wrong type', async () => {
  await check([
    { eventType: 'users.behaviors.Location', field: 'latitude', value: '40.7128', reason: 'field "latitude": expected float, got string "40.7128"' },
    { eventType: 'users.behaviors.Location', field: 'longitude', value: null, reason: 'required field "longitude" is missing' },
    { eventType: 'users.behaviors.Location', field: 'ad_tracking_enabled', value: 'true', reason: 'field "ad_tracking_enabled": expected boolean, got string "true"' },
    { eventType: 'users.behaviors.Location', field: 'ad_tracking_enabled', value: 1, reason: 'field "ad_tracking_enabled": expected boolean, got number 1' },
    { eventType: 'users.messages.email.Click', field: 'suspected_bot_click_reason', value: [1, 2], reason: /^field "suspected_bot_click_reason": expected \{"type":"array","items":"string"\}, got array$/ },
    { eventType: 'users.messages.email.Click', field: 'suspected_bot_click_reason', value: 'prefetch', reason: /^field "suspected_bot_click_reason": expected .*array.*, got string "prefetch"$/ },
  ]);
});

test('long string values are quoted shortened in the reason, not in full', async () => {
  const { lines } = await check([{ eventType: EMAIL_SEND, field: 'time', value: 'x'.repeat(5000), reason: /^field "time": expected int, got string "x{40}…"$/ }]);
  assert.ok(lines.every((l) => l.reason.length < 200));
});

test('missing required fields (absent or null) name the field; missing nullable fields are written as null', async () => {
  await check([
    { eventType: EMAIL_SEND, field: 'id', value: undefined, reason: 'required field "id" is missing' },
    { eventType: EMAIL_SEND, field: 'user_id', value: undefined, reason: 'required field "user_id" is missing' },
    { eventType: EMAIL_SEND, field: 'time', value: undefined, reason: 'required field "time" is missing' },
    { eventType: EMAIL_SEND, field: 'email_address', value: null, reason: 'required field "email_address" is missing' },
    { eventType: 'users.behaviors.InstallAttribution', field: 'source', value: undefined, reason: 'required field "source" is missing' },
  ]);
  const integration = await stack.addIntegration();
  const sparse = goodEvent(EMAIL_SEND);
  delete sparse.campaign_name;
  sparse.send_id = null;
  await run(stack, messagesFor(integration.id, [[sparse]]));
  const written = await writtenRecords(stack, integration.container);
  assert.equal(written.byId.get(sparse.id as string)?.campaign_name, null);
  assert.equal(written.byId.get(sparse.id as string)?.send_id, null);
});

test('a "__proto__" member cannot supply required fields', async () => {
  const integration = await stack.addIntegration();
  const good = goodEvent();
  const { id: _id, ...rest } = goodEvent();
  const body = `{"integrationId":"${integration.id}","events":[${JSON.stringify(good)},${JSON.stringify(rest).replace(/^\{/, '{"__proto__":{"id":"from-proto"},')}]}`;
  const messages = messagesFor(integration.id, [[]]);
  messages[0].body = body;
  await run(stack, messages);
  const lines = await quarantineLines(stack, messages);
  assertQuarantined(lines, { messageId: messages[0].messageId, eventIndex: 1, field: 'id', reason: 'required field "id" is missing' });
  assertWrittenIds(await writtenRecords(stack, integration.container), [good.id]);
});

// avsc accepts any JS number for an Avro float and writes it as float32: 1e39 becomes Infinity in the
// file. The value must not change silently — it is out of range like an int above 2^31.
test('a float beyond the 32-bit float range is refused, not written as Infinity', async () => {
  const integration = await stack.addIntegration();
  const good = goodEvent('users.behaviors.Location');
  const huge = goodEvent('users.behaviors.Location', { latitude: 1e39 });
  const messages = messagesFor(integration.id, [[good, huge]]);
  await run(stack, messages);
  const written = await writtenRecords(stack, integration.container, { python: false }); // Python's json cannot print Infinity
  assert.ok(written.byId.has(good.id as string));
  assert.equal(written.byId.has(huge.id as string), false, `written as latitude=${written.byId.get(huge.id as string)?.latitude}`);
  const lines = await quarantineLines(stack, messages);
  assertQuarantined(lines, { messageId: messages[0].messageId, eventIndex: 1, field: 'latitude', reason: /^field "latitude": expected float, got number 1e\+39/ });
});
