import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { InvalidIntegrationError, type IntegrationInput } from '../../shared/integrations/integration';
import { startTestStack, messagesFor, listBlobs, type TestStack } from '../support/stack';
import { goodEvent, quarantineLines, parkedLines, writtenRecords, assertWrittenIds, assertQuarantined, run } from './corpus';

/**
 * Integration ids that are unknown or malformed (quarantined per message), stored documents that are
 * invalid (the integration's valid events parked with the reason, never lost, never written with
 * someone else's settings), and registry writes with hostile prefixes/names (refused).
 */
let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack.close();
});

const newId = () => randomBytes(12).toString('hex');
const registry = () => stack.service.getContainerClient(stack.app.settings.REGISTRY_CONTAINER);

async function storeRaw(id: string, text: string): Promise<void> {
  await registry().getBlockBlobClient(`${id}.json`).upload(text, Buffer.byteLength(text));
}

test('an unknown (well-formed) integration id: the whole message quarantined with its events; other integrations in the batch written', async () => {
  const known = await stack.addIntegration();
  const unknownId = newId();
  const orphans = [goodEvent(), goodEvent()];
  const good = [goodEvent(), goodEvent()];
  const messages = [...messagesFor(known.id, [[good[0]]]), ...messagesFor(unknownId, [orphans]), ...messagesFor(known.id, [[good[1]]])];
  const report = await run(stack, messages);
  assert.equal(report.quarantined.events, 2);
  const line = assertQuarantined(await quarantineLines(stack, messages), { messageId: messages[1].messageId, field: 'integrationId', reason: `unknown integration id ${unknownId}` });
  assert.equal(line.integrationId, unknownId);
  assert.deepEqual(line.payload, orphans, 'the events are kept');
  assertWrittenIds(await writtenRecords(stack, known.container), good.map((e) => e.id));
});

test('malformed integration ids (case, length, type, traversal, control characters): "integrationId must be a 24-character lowercase hex string"', async () => {
  const known = await stack.addIntegration();
  const ids: unknown[] = [
    known.id.toUpperCase(),
    known.id.slice(1),
    `${known.id}0`,
    `${known.id}\n`,
    `\u0000${known.id.slice(1)}`,
    `../${known.id.slice(3)}`,
    '../../currents-integrations/x',
    ` ${known.id}`,
    'g'.repeat(24),
    123456789012345678901234,
    null,
    { id: known.id },
    [known.id],
  ];
  const good = ids.map(() => goodEvent()).concat(goodEvent());
  const messages = messagesFor(known.id, [...ids.flatMap((_x, i) => [[good[i]], [goodEvent()]]), [good[ids.length]]]);
  ids.forEach((id, i) => {
    messages[2 * i + 1].body = { integrationId: id, events: [goodEvent()] };
  });
  const missing = messagesFor(known.id, [[goodEvent()]])[0];
  missing.body = { events: [goodEvent()] };
  const report = await run(stack, [...messages, missing]);
  assert.equal(report.quarantined.messages, ids.length + 1);
  const lines = await quarantineLines(stack, [...messages, missing]);
  for (const m of [...ids.map((_x, i) => messages[2 * i + 1]), missing]) {
    assertQuarantined(lines, { messageId: m.messageId, field: 'integrationId', reason: 'integrationId must be a 24-character lowercase hex string' });
  }
  assertWrittenIds(await writtenRecords(stack, known.container), good.map((e) => e.id));
  // Nothing was looked up or created from those ids.
  const docs = await listBlobs(stack.service, stack.app.settings.REGISTRY_CONTAINER);
  assert.ok(docs.every((d) => /^[0-9a-f]{24}\.json$/.test(d)), docs.join('\n'));
});

interface InvalidDoc {
  label: string;
  text: (id: string) => string;
  reason: RegExp;
}

const base = (id: string): IntegrationInput => ({
  id,
  name: 'stored by hand',
  contactEmail: 'ops@example.com',
  connectionStringSecret: `conn-${id}`,
  container: `c-${id}`,
  eventTypes: ['*'],
});

const invalidDocs: InvalidDoc[] = [
  { label: 'not JSON', text: (id) => `{"id": "${id}", "name": `, reason: /document is not valid JSON/ },
  { label: 'empty', text: () => '', reason: /document is not valid JSON/ },
  { label: 'JSON null', text: () => 'null', reason: /document: .*expected object/i },
  { label: 'a traversal prefix', text: (id) => JSON.stringify({ ...base(id), prefix: '../../other-customer' }), reason: /prefix: must be "\/"-separated segments/ },
  { label: 'a control character in the prefix', text: (id) => JSON.stringify({ ...base(id), prefix: 'currents\u0000x' }), reason: /prefix: must be/ },
  { label: 'no container', text: (id) => JSON.stringify({ ...base(id), container: undefined }), reason: /container: / },
  { label: 'an unknown selected event type', text: (id) => JSON.stringify({ ...base(id), eventTypes: ['users.messages.pigeon.Send'] }), reason: /eventTypes: "users\.messages\.pigeon\.Send" is neither an event group nor a known event type/ },
  { label: 'a codec Braze does not use', text: (id) => JSON.stringify({ ...base(id), codec: 'snappy' }), reason: /codec: / },
];

for (const doc of invalidDocs) {
  test(`an integration whose stored document is invalid (${doc.label}): its valid events parked with the reason, bad events still quarantined`, async () => {
    const id = newId();
    await storeRaw(id, doc.text(id));
    const healthy = await stack.addIntegration();
    const parkedEvents = [goodEvent(), goodEvent('users.behaviors.Location'), goodEvent()];
    const badEvent = goodEvent(undefined, { time: 'yesterday' });
    const healthyEvents = [goodEvent()];
    const messages = [...messagesFor(id, [[parkedEvents[0], badEvent, parkedEvents[1]], [parkedEvents[2]]]), ...messagesFor(healthy.id, [healthyEvents])];
    const report = await run(stack, messages);
    assert.equal(report.parked.events, 3);
    assert.deepEqual(Object.keys(report.parked.reasons), ['integration settings invalid']);
    const parked = await parkedLines(stack, id);
    assert.deepEqual(parked.map((p) => p.record.id).sort(), parkedEvents.map((e) => e.id).sort(), 'every valid event parked, none lost');
    for (const p of parked) {
      assert.match(p.reason, /^integration settings invalid: integration .* is invalid: /);
      assert.match(p.reason, doc.reason);
    }
    assertQuarantined(await quarantineLines(stack, messages), { messageId: messages[0].messageId, eventIndex: 1, field: 'time', reason: 'field "time": expected int, got string "yesterday"' });
    assertWrittenIds(await writtenRecords(stack, healthy.container), healthyEvents.map((e) => e.id));
  });
}

// A document copied from another customer's (or edited by hand) whose "id" is not its own: the events
// for A must not be delivered with B's connection string into B's container under B's connector name.
test('a stored document whose "id" is not the id it is stored under: parked, never delivered to the other integration', async () => {
  const other = await stack.addIntegration();
  const id = newId();
  await storeRaw(id, JSON.stringify({ ...base(other.id), container: other.container, connectionStringSecret: other.connectionStringSecret }));
  const events = [goodEvent(), goodEvent()];
  const messages = messagesFor(id, [events]);
  const report = await run(stack, messages);
  const intoOther = await listBlobs(stack.service, other.container);
  assert.deepEqual(intoOther, [], `events for ${id} were written into integration ${other.id}'s container:\n${intoOther.join('\n')}`);
  assert.equal(report.parked.events, 2);
  const parked = await parkedLines(stack, id);
  assert.equal(parked.length, 2);
  assert.match(parked[0].reason, /^integration settings invalid: .*id/);
});

const valid = (overrides: Partial<IntegrationInput> = {}): IntegrationInput => ({ ...base(newId()), ...overrides });

async function assertRefused(input: IntegrationInput, field: string): Promise<void> {
  await assert.rejects(stack.app.registry.put(input), (err: unknown) => {
    assert.ok(err instanceof InvalidIntegrationError, String(err));
    assert.match(err.message, new RegExp(`(^|: |; )${field}[:.]`), `${field} named in: ${err.message}`);
    return true;
  }, `${field} = ${JSON.stringify((input as Record<string, unknown>)[field])}`);
  if (typeof input.id === 'string' && /^[0-9a-f]{24}$/.test(input.id)) {
    assert.equal(await registry().getBlockBlobClient(`${input.id}.json`).exists(), false, 'nothing stored');
  }
}

test('the registry refuses prefixes with traversal, absolute paths, empty segments, backslashes, control characters, encodings and look-alikes', async () => {
  const prefixes = [
    '..',
    '.',
    '../x',
    'a/../b',
    'a/./b',
    'a/..',
    '/abs',
    'a/',
    'a//b',
    'a\\b',
    '..\\x',
    'a\u0000b',
    'a\nb',
    'a\rb',
    'a\tb',
    'a\u007fb',
    'a\u0085b',
    'a b',
    '%2e%2e/x',
    'a%2fb',
    '\uff0e\uff0e/x', // fullwidth dots
    'a\u2215b', // division slash
    'a?b',
    'a#b',
    '',
    'x'.repeat(201),
  ];
  for (const prefix of prefixes) await assertRefused(valid({ prefix }), 'prefix');
});

test('the registry refuses hostile ids, container names, secret names, clusters, environments and transformation fields', async () => {
  await assertRefused(valid({ id: '../../etc/passwd' }), 'id');
  await assertRefused(valid({ id: 'ABCDEF0123456789ABCDEF01' }), 'id');
  await assertRefused(valid({ id: `${newId()}\u0000` }), 'id');
  for (const container of ['../x', 'a/b', 'UPPER', 'ab', 'a--b', '-ab', 'abc\u0000', 'abc\n']) await assertRefused(valid({ container }), 'container');
  for (const connectionStringSecret of ['a/b', '../x', 'a\u0000b', 'a b', 'x'.repeat(128)]) await assertRefused(valid({ connectionStringSecret }), 'connectionStringSecret');
  for (const cluster of ['../x', 'a/b', 'Prod', 'a\u0000']) await assertRefused(valid({ cluster }), 'cluster');
  for (const environment of ['..', 'us/01', 'us-01\n']) await assertRefused(valid({ environment }), 'environment');
  await assertRefused(valid({ transformations: [{ field: '../email_address', action: 'hash' }] }), 'transformations');
});

// Azure: "Avoid blob names that end with a dot (.) … No path segments should end with a dot." Some
// clients (e.g. .NET's Uri on older runtimes) drop trailing dots, so the signed path no longer matches.
test('the registry refuses prefix segments ending with a dot ("...", "currents.", "a./b"), which Azure says to avoid', async () => {
  for (const prefix of ['...', 'currents.', 'a./b', 'a/b.']) await assertRefused(valid({ prefix }), 'prefix');
});
