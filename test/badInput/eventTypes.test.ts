import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestStack, messagesFor, listBlobs, type TestStack } from '../support/stack';
import { goodEvent, quarantineLines, writtenRecords, assertWrittenIds, assertQuarantined, assertSafeBlobNames, run, CURRENTS_NAME } from './corpus';

/**
 * Unknown event types, event_type that is not a string or missing, and events that are not objects:
 * quarantined per event with a clear reason; event types with "/" or ".." never reach a blob path
 * (names are built from the schema catalog, never from the input).
 */
let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack.close();
});

async function check(badEvents: unknown[], expectReason: (event: unknown) => { field: string; reason: string | RegExp }) {
  const integration = await stack.addIntegration();
  const good: Record<string, unknown>[] = [];
  const events: unknown[] = [];
  for (const bad of badEvents) {
    const g = goodEvent();
    good.push(g);
    events.push(g, bad);
  }
  const last = goodEvent();
  good.push(last);
  events.push(last);
  const messages = messagesFor(integration.id, [events as Record<string, unknown>[]]);
  const report = await run(stack, messages);
  const lines = await quarantineLines(stack, messages);
  badEvents.forEach((bad, i) => {
    const { field, reason } = expectReason(bad);
    const line = assertQuarantined(lines, { messageId: messages[0].messageId, eventIndex: 2 * i + 1, field, reason });
    assert.deepEqual(line.payload, JSON.parse(JSON.stringify(bad ?? null)), 'the event itself is kept');
  });
  assert.equal(report.quarantined.events, badEvents.length);
  const written = await writtenRecords(stack, integration.container);
  assertWrittenIds(written, good.map((e) => e.id));
  for (const n of written.names) assert.match(n, CURRENTS_NAME(integration.id));
  return { integration, lines };
}

test('unknown event types: reason quotes the type and the Currents version', async () => {
  const types = ['users.messages.pigeon.Send', 'users.messages.email.send', 'USERS.MESSAGES.EMAIL.SEND', ' users.messages.email.Send', 'users.messages.email.Send ', '', 'message_engagement', '*', '__proto__', 'constructor', 'toString'];
  await check(
    types.map((t) => goodEvent(undefined, { event_type: t })),
    (e) => ({ field: 'event_type', reason: `unknown event type "${(e as { event_type: string }).event_type}" for Currents version 10` }),
  );
});

test('event_type not a string, null or missing: "event_type must be a string naming a Currents event type"', async () => {
  const missing = goodEvent();
  delete missing.event_type;
  const bad = [42, null, true, { name: 'users.messages.email.Send' }, ['users.messages.email.Send']].map((t) => goodEvent(undefined, { event_type: t }));
  await check([...bad, missing], () => ({ field: 'event_type', reason: 'event_type must be a string naming a Currents event type' }));
});

test('events that are not JSON objects: field "events[]", "event must be a JSON object"', async () => {
  await check([1, 'users.messages.email.Send', null, [goodEvent()], true], () => ({ field: 'events[]', reason: 'event must be a JSON object' }));
});

test('event types with "/", "..", backslashes or control characters are refused and never reach a blob path', async () => {
  const hostile = [
    '../../../etc/passwd',
    'users.messages.email.Send/../../x',
    'users/messages/email/Send',
    'users.messages..email.Send',
    '..',
    '.',
    '/users.messages.email.Send',
    'users.messages.email.Send/',
    'users.messages.email.Send\u0000',
    'users.messages.email.Send\n',
    '..\\..\\windows',
    '%2e%2e%2fusers.messages.email.Send',
    'event_type=users.messages.email.Send/date=2026-01-01-00',
  ];
  const { integration } = await check(
    hostile.map((t) => goodEvent(undefined, { event_type: t })),
    (e) => ({ field: 'event_type', reason: `unknown event type "${(e as { event_type: string }).event_type}" for Currents version 10` }),
  );
  const everywhere = [
    ...(await listBlobs(stack.service, integration.container)),
    ...(await listBlobs(stack.service, stack.app.settings.QUARANTINE_CONTAINER)),
    ...(await listBlobs(stack.service, stack.app.settings.PARKED_CONTAINER)),
  ];
  assertSafeBlobNames(everywhere);
  for (const name of everywhere) {
    assert.doesNotMatch(name, /passwd|windows|%2e|\/x$|users\/messages/, name);
    const type = /event_type=([^/]*)/.exec(name)?.[1];
    if (type !== undefined) assert.equal(type, 'users.messages.email.Send');
  }
});

test('hostile event types for an integration whose events are parked (broken destination) do not reach parked paths either', async () => {
  const integration = await stack.addIntegration({}, { createContainer: false });
  const good = goodEvent();
  const messages = messagesFor(integration.id, [[good, goodEvent(undefined, { event_type: '../../x' }), goodEvent(undefined, { event_type: 'a/b' })]]);
  const report = await run(stack, messages);
  assert.equal(report.parked.events, 1);
  assert.equal(report.quarantined.events, 2);
  const parked = await listBlobs(stack.service, stack.app.settings.PARKED_CONTAINER, `${integration.id}/`);
  assert.equal(parked.length, 1);
  assert.match(parked[0], new RegExp(`^${integration.id}/event_type=users\\.messages\\.email\\.Send/date=\\d{4}-\\d{2}-\\d{2}-\\d{2}/\\d+\\+\\d{10}\\.jsonl$`));
});
