import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { startTestStack, messagesFor, type TestStack } from '../support/stack';
import type { QueueMessage } from '../../shared/currents/queueMessage';
import { goodEvent, quarantineLines, writtenRecords, assertWrittenIds, assertQuarantined, run } from './corpus';

/**
 * Message bodies that are not the contract's `{"integrationId", "events": [...]}`: each is quarantined
 * whole (message id, sequence number, field, reason, the raw body), and the good messages around it in
 * the same batch are written.
 */
let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack.close();
});

/** A batch of [good, bad, good, bad, …, good]: every bad body sits between two good messages. */
async function sandwich(bodies: unknown[]) {
  const integration = await stack.addIntegration();
  const good = bodies.map(() => goodEvent()).concat([goodEvent()]);
  const slots: Record<string, unknown>[][] = [];
  bodies.forEach((_b, i) => slots.push([good[i]], []));
  slots.push([good[bodies.length]]);
  const messages = messagesFor(integration.id, slots);
  const bad: QueueMessage[] = [];
  bodies.forEach((body, i) => {
    messages[2 * i + 1].body = body;
    bad.push(messages[2 * i + 1]);
  });
  const report = await run(stack, messages);
  const lines = await quarantineLines(stack, messages);
  const written = await writtenRecords(stack, integration.container);
  assertWrittenIds(written, good.map((e) => e.id));
  assert.equal(report.written.events, good.length);
  assert.equal(report.quarantined.messages, bodies.length);
  return { integration, bad, lines, report };
}

const contract = (integrationId: string) => JSON.stringify({ integrationId, events: [goodEvent()] });

test('truncated JSON: "body is not valid JSON" with the parser\'s position, raw body kept; neighbours written', async () => {
  const probe = await stack.addIntegration();
  const full = contract(probe.id);
  const bodies = [full.slice(0, full.length - 3), full.slice(0, 20), '{', '{"integrationId": "0123456789abcdef01234567", "events": ['];
  const { bad, lines } = await sandwich(bodies);
  bad.forEach((m, i) => {
    const line = assertQuarantined(lines, { messageId: m.messageId, field: 'body', reason: /^body is not valid JSON: .*(position \d+|end of JSON input)/ });
    assert.equal(line.payload, bodies[i], 'the raw body is kept for a human to look at');
    assert.equal(line.sequenceNumber, m.sequenceNumber.toString());
    assert.equal(line.eventIndex, undefined);
  });
});

test('binary garbage (string and Buffer bodies, invalid UTF-8, empty): "body is not valid JSON"; neighbours written', async () => {
  const garbage = createHash('sha512').update('garbage').digest(); // deterministic, includes bytes ≥ 0x80
  const bodies = [garbage, Buffer.from([0xff, 0xfe, 0x00, 0x7b, 0x00, 0x7d]), Buffer.alloc(0), '', '\u0000\u0001\u0002', 'PK\u0003\u0004 not a zip either'];
  const { bad, lines } = await sandwich(bodies);
  for (const m of bad) assertQuarantined(lines, { messageId: m.messageId, field: 'body', reason: /^body is not valid JSON: / });
  assert.equal(lines.find((l) => l.messageId === bad[3].messageId)?.payload, '', 'an empty body is kept as such');
});

test('valid JSON that is not an object (array, number, null, string, boolean) — raw or already parsed by the host: clear reason', async () => {
  const integration = await stack.addIntegration();
  const asObject = { integrationId: integration.id, events: [goodEvent()] };
  const bodies = ['[]', JSON.stringify([asObject]), '42', '-1.5e3', 'null', '"hello"', JSON.stringify(JSON.stringify(asObject)), 'true', [asObject], 42, null, 'x', false];
  // A bare string that is not JSON ("x") is a JSON error; every other one is "must be a JSON object".
  const { bad, lines } = await sandwich(bodies);
  bad.forEach((m, i) => {
    const expected = bodies[i] === 'x' ? /^body is not valid JSON: / : 'body must be a JSON object {"integrationId", "events"}';
    const line = assertQuarantined(lines, { messageId: m.messageId, field: 'body', reason: expected });
    if (bodies[i] !== null) assert.deepEqual(line.payload, bodies[i], 'the body is kept as it came');
  });
});

test('an object missing "events" or with events that are not an array: field "events"', async () => {
  const integration = await stack.addIntegration();
  const bodies = [
    { integrationId: integration.id },
    { integrationId: integration.id, events: {} },
    { integrationId: integration.id, events: 'users.messages.email.Send' },
    { integrationId: integration.id, events: null },
    JSON.stringify({ integrationId: integration.id, Events: [goodEvent()] }),
  ];
  const { bad, lines } = await sandwich(bodies);
  for (const m of bad) assertQuarantined(lines, { messageId: m.messageId, field: 'events', reason: 'events must be an array' });
});

test('an empty events array is not an error: nothing written, nothing quarantined', async () => {
  const integration = await stack.addIntegration();
  const report = await run(stack, messagesFor(integration.id, [[]]));
  assert.equal(report.quarantined.messages, 0);
  assert.equal(report.written.events, 0);
});

// RFC 8259 §8.1: parsers MAY ignore a UTF-8 byte order mark; .NET and PowerShell producers emit one.
// Either the events flow, or the quarantine must say what is wrong — not "Unexpected token ''".
test('a body starting with a UTF-8 byte order mark: written, or quarantined with a reason that names the BOM', async () => {
  const integration = await stack.addIntegration();
  const good = [goodEvent(), goodEvent()];
  const bom = [goodEvent(), goodEvent()];
  const messages = messagesFor(integration.id, [[good[0]], [bom[0]], [bom[1]], [good[1]]]);
  messages[1].body = `\ufeff${JSON.stringify({ integrationId: integration.id, events: [bom[0]] })}`;
  messages[2].body = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(JSON.stringify({ integrationId: integration.id, events: [bom[1]] }))]);
  const report = await run(stack, messages);
  const written = await writtenRecords(stack, integration.container);
  for (const e of good) assert.ok(written.byId.has(e.id as string), 'neighbours written');
  const lines = await quarantineLines(stack, messages);
  for (const [i, m] of [messages[1], messages[2]].entries()) {
    if (written.byId.has(bom[i].id as string)) continue;
    const line = lines.find((l) => l.messageId === m.messageId);
    assert.ok(line, 'the BOM message is neither written nor quarantined');
    assert.match(line.reason, /byte order mark|BOM/i, `unclear reason for a BOM body: ${JSON.stringify(line.reason)}`);
  }
  assert.equal(report.written.events + report.quarantined.messages, 4, 'every message accounted for');
});
