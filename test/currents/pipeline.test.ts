import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { processCurrentsBatch, RetryableBatchError } from '../../shared/currents/pipeline';
import { currentsCatalog } from '../../shared/currents/schemas/catalog';
import { demoEvent } from '../../shared/local/demoEvents';
import { hourLabel, startOfHour } from '../../shared/currents/naming';
import { startTestStack, messagesFor, listBlobs, readBlob, type TestStack } from '../support/stack';
import { decodeWithAvsc } from '../support/avsc';
import { decodeWithPython } from '../support/pythonAvro';

let stack: TestStack;
const catalog = currentsCatalog();
const emailSend = () => catalog.get('users.messages.email.Send')!;
const deps = () => stack.app.deps(stack.log);

before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack.close();
});

async function quarantineLines(): Promise<Record<string, unknown>[]> {
  const names = await listBlobs(stack.service, stack.app.settings.QUARANTINE_CONTAINER);
  const lines: Record<string, unknown>[] = [];
  for (const n of names) {
    const text = (await readBlob(stack.service, stack.app.settings.QUARANTINE_CONTAINER, n)).toString('utf8');
    for (const l of text.trim().split('\n')) lines.push(JSON.parse(l));
  }
  return lines;
}

test('every event type becomes its own Braze-named Avro file, readable by avsc and by Apache Avro (Python)', async () => {
  const integration = await stack.addIntegration();
  const queuedAt = new Date('2026-12-01T07:42:10Z');
  const schemas = catalog.availableIn(10);
  const events = schemas.flatMap((s) => [demoEvent(s), demoEvent(s)]);
  const chunks = [];
  for (let i = 0; i < events.length; i += 25) chunks.push(events.slice(i, i + 25));
  const report = await processCurrentsBatch(messagesFor(integration.id, chunks, { queuedAt }), deps());

  assert.equal(report.written.events, events.length);
  assert.equal(report.quarantined.events, 0);
  const names = await listBlobs(stack.service, integration.container);
  assert.equal(names.length, report.written.files);
  const types = new Set<string>();
  const nameShape = new RegExp(
    `^currents/dataexport\\.prod-01\\.AzureBlob\\.integration\\.${integration.id}/event_type=([A-Za-z.]+)/date=2026-12-01-07/version=10/us-01/` +
      `dataexport\\.prod-01\\.AzureBlob\\.integration\\.${integration.id}\\+0\\+\\d{10}\\.avro$`,
  );
  const bytes: Buffer[] = [];
  for (const name of names) {
    const m = nameShape.exec(name);
    assert.ok(m, `unexpected blob name ${name}`);
    types.add(m[1]);
    bytes.push(await readBlob(stack.service, integration.container, name));
  }
  assert.equal(types.size, schemas.length, 'one file series per event type');

  const python = decodeWithPython(bytes);
  let total = 0;
  for (let i = 0; i < names.length; i++) {
    const eventType = /event_type=([^/]+)/.exec(names[i])![1];
    const schema = catalog.get(eventType)!;
    const viaAvsc = await decodeWithAvsc(bytes[i]);
    assert.deepEqual(Object.keys(viaAvsc.meta), ['avro.schema'], 'like Braze: only avro.schema in the header (null codec)');
    const written = JSON.parse(viaAvsc.meta['avro.schema']);
    assert.equal(written.name, eventType.split('.').pop());
    assert.equal(written.namespace, `dataexport.AzureBlob.inner.${eventType.split('.').slice(0, -1).join('.')}`);
    assert.equal(python[i].records.length, viaAvsc.records.length);
    assert.equal(python[i].meta['avro.schema'], viaAvsc.meta['avro.schema']);
    for (const r of python[i].records) {
      assert.deepEqual(Object.keys(r), schema.fields.map((f) => f.name), `${eventType}: fields in schema order`);
      assert.equal(typeof r.id, 'string');
    }
    total += viaAvsc.records.length;
  }
  assert.equal(total, events.length);
  // Every event id we sent is in exactly one file.
  const ids = new Set(python.flatMap((d) => d.records.map((r) => r.id as string)));
  assert.equal(ids.size, events.length);
});

test('v11-only event types are refused for a v10 integration and written under version=11 for a v11 one', async () => {
  const v11Type = catalog.all().find((s) => s.since === 11)!;
  const v10 = await stack.addIntegration();
  const v11 = await stack.addIntegration({ currentsVersion: 11 });
  const refused = await processCurrentsBatch(messagesFor(v10.id, [[demoEvent(v11Type)]]), deps());
  assert.equal(refused.quarantined.events, 1);
  const accepted = await processCurrentsBatch(messagesFor(v11.id, [[demoEvent(v11Type), demoEvent(emailSend())]]), deps());
  assert.equal(accepted.written.events, 2);
  const names = await listBlobs(stack.service, v11.container);
  assert.ok(names.every((n) => n.includes('/version=11/us-01/')), names.join('\n'));
});

test('date= is the hour the events were first queued, not their own time; without the property it is the enqueued hour', async () => {
  const integration = await stack.addIntegration();
  const old = demoEvent(emailSend());
  old.time = 946_684_800; // 2000-01-01: event time must not drive the path
  await processCurrentsBatch(messagesFor(integration.id, [[old]], { queuedAt: new Date('2026-11-30T23:59:59Z') }), deps());
  const plain = messagesFor(integration.id, [[demoEvent(emailSend())]]);
  await processCurrentsBatch(plain, deps());
  const names = await listBlobs(stack.service, integration.container);
  assert.equal(names.length, 2);
  assert.ok(names.some((n) => n.includes('/date=2026-11-30-23/')), names.join('\n'));
  assert.ok(names.some((n) => n.includes(`/date=${hourLabel(startOfHour(plain[0].enqueuedTimeUtc))}/`)), names.join('\n'));
});

test('field transformations: Remove writes [REDACTED], Hash writes the SHA-256 hex digest; nulls stay null', async () => {
  const integration = await stack.addIntegration({
    eventTypes: ['users.messages.email.Send'],
    transformations: [
      { field: 'email_address', action: 'hash' },
      { field: 'external_user_id', action: 'remove' },
    ],
  });
  const a: Record<string, unknown> = { ...demoEvent(emailSend()), email_address: 'jane@example.com', external_user_id: 'ext-1' };
  const b: Record<string, unknown> = { ...demoEvent(emailSend()), email_address: 'joe@example.com', external_user_id: null };
  await processCurrentsBatch(messagesFor(integration.id, [[a, b]]), deps());
  const [name] = await listBlobs(stack.service, integration.container);
  const [decoded] = decodeWithPython([await readBlob(stack.service, integration.container, name)]);
  const byId = new Map(decoded.records.map((r) => [r.id, r]));
  assert.equal(byId.get(a.id)!.email_address, createHash('sha256').update('jane@example.com').digest('hex'));
  assert.equal(byId.get(a.id)!.external_user_id, '[REDACTED]');
  assert.equal(byId.get(b.id)!.external_user_id, null);
  assert.notEqual(byId.get(b.id)!.email_address, 'joe@example.com');
});

test('bad input is quarantined with message id, event index, field and reason; the rest of the batch is written', async () => {
  const integration = await stack.addIntegration();
  const good1 = demoEvent(emailSend());
  const good2 = demoEvent(emailSend());
  const missingRequired = demoEvent(emailSend());
  delete missingRequired.id;
  const wrongType: Record<string, unknown> = { ...demoEvent(emailSend()), time: 'yesterday' };
  const unknownType = { ...demoEvent(emailSend()), event_type: 'users.messages.pigeon.Send' };
  const messages = messagesFor(integration.id, [[good1, missingRequired, wrongType], [unknownType, good2]]);
  const malformed = messagesFor(integration.id, [[]])[0];
  malformed.body = '{"integrationId": "abc", "events": [';
  const unknownIntegration = messagesFor('0123456789abcdef01234567', [[demoEvent(emailSend())]])[0];
  const report = await processCurrentsBatch([...messages, malformed, unknownIntegration], deps());

  assert.equal(report.written.events, 2);
  assert.equal(report.quarantined.messages, 4);
  const lines = await quarantineLines();
  const find = (messageId: string, eventIndex?: number) => lines.find((l) => l.messageId === messageId && l.eventIndex === eventIndex);
  assert.deepEqual(
    { field: find(messages[0].messageId, 1)?.field, reason: find(messages[0].messageId, 1)?.reason },
    { field: 'id', reason: 'required field "id" is missing' },
  );
  assert.equal(find(messages[0].messageId, 2)?.field, 'time');
  assert.match(String(find(messages[0].messageId, 2)?.reason), /expected int, got string "yesterday"/);
  assert.equal(find(messages[0].messageId, 2)?.eventId, wrongType.id);
  assert.match(String(find(messages[1].messageId, 0)?.reason), /unknown event type "users\.messages\.pigeon\.Send"/);
  assert.match(String(find(malformed.messageId)?.reason), /not valid JSON/);
  assert.equal(find(unknownIntegration.messageId)?.field, 'integrationId');
  assert.match(String(find(unknownIntegration.messageId)?.reason), /unknown integration id 0123456789abcdef01234567/);
  assert.deepEqual((find(unknownIntegration.messageId)?.payload as unknown[]).length, 1, 'the events themselves are kept');
});

test('event types the integration did not select are skipped and counted', async () => {
  const integration = await stack.addIntegration({ eventTypes: ['customer_behavior'] });
  const behaviour = catalog.all().find((s) => s.group === 'customer_behavior')!;
  const report = await processCurrentsBatch(messagesFor(integration.id, [[demoEvent(behaviour), demoEvent(emailSend()), demoEvent(emailSend())]]), deps());
  assert.equal(report.written.events, 1);
  assert.equal(report.skippedNotSelected, 2);
  const names = await listBlobs(stack.service, integration.container);
  assert.deepEqual(names.map((n) => /event_type=([^/]+)/.exec(n)![1]), [behaviour.eventType]);
});

test('events over 900 KB are dropped, counted and reported; the others in the message are written', async () => {
  const integration = await stack.addIntegration();
  const huge: Record<string, unknown> = { ...demoEvent(emailSend()), email_address: 'x'.repeat(950 * 1024) };
  const small = demoEvent(emailSend());
  const report = await processCurrentsBatch(messagesFor(integration.id, [[huge, small]]), deps());
  assert.equal(report.droppedOversize, 1);
  assert.equal(report.written.events, 1);
  const line = (await quarantineLines()).find((l) => l.eventId === huge.id);
  assert.match(String(line?.reason), /larger than 921600 bytes/);
});

test('a redelivered batch writes nothing twice: same batch (409 + coverage) and a recomposed batch (listing)', async () => {
  const integration = await stack.addIntegration({ eventTypes: ['users.messages.email.Send'] });
  const batch = messagesFor(integration.id, Array.from({ length: 6 }, () => [demoEvent(emailSend()), demoEvent(emailSend())]));
  const first = await processCurrentsBatch(batch.slice(0, 4), deps());
  assert.equal(first.written.events, 8);

  // The same messages again, as if the completion was lost: every create meets a 409 that proves coverage.
  const again = await processCurrentsBatch(batch.slice(0, 4), deps());
  assert.equal(again.written.events, 0);
  assert.equal(again.alreadyWritten, 8);

  // Redelivered in a different composition, with new messages: only the new ones are written.
  const recomposed = [batch[2], batch[3], batch[4], batch[5]].map((m) => ({ ...m, deliveryCount: 2 }));
  const third = await processCurrentsBatch(recomposed, deps());
  assert.equal(third.written.events, 4);
  assert.equal(third.alreadyWritten, 4);

  const names = await listBlobs(stack.service, integration.container);
  const records = decodeWithPython(await Promise.all(names.map((n) => readBlob(stack.service, integration.container, n)))).flatMap((d) => d.records);
  const ids = records.map((r) => r.id);
  assert.equal(ids.length, 12, 'no loss');
  assert.equal(new Set(ids).size, 12, 'no duplicates');
});

test('a 409 on a blob whose metadata does not prove its content is never counted as delivered: events are parked', async () => {
  const integration = await stack.addIntegration({ eventTypes: ['users.messages.email.Send'] });
  const batch = messagesFor(integration.id, [[demoEvent(emailSend())]], { queuedAt: new Date('2026-12-02T10:00:00Z') });
  // Someone else's blob at exactly our name.
  const name = `currents/dataexport.prod-01.AzureBlob.integration.${integration.id}/event_type=users.messages.email.Send/date=2026-12-02-10/version=10/us-01/dataexport.prod-01.AzureBlob.integration.${integration.id}+0+${batch[0].sequenceNumber.toString().padStart(10, '0')}.avro`;
  await stack.service.getContainerClient(integration.container).getBlockBlobClient(name).upload('foreign', 7);
  const report = await processCurrentsBatch(batch, deps());
  assert.equal(report.written.events, 0);
  assert.equal(report.parked.events, 1);
  assert.ok(report.parked.reasons['name-conflict']);
  assert.equal((await readBlob(stack.service, integration.container, name)).toString(), 'foreign', 'never overwritten');
});

test('broken credentials park the events (kept, counted); a rotated secret is picked up without restart', async () => {
  const wrongKey = stack.azurite.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.alloc(64, 7).toString('base64')}`);
  const integration = await stack.addIntegration({ eventTypes: ['users.messages.email.Send'] });
  stack.setSecret(integration.connectionStringSecret, wrongKey);
  // The cached (good) value was never read for this secret, so the wrong key is what the app sees.
  const broken = await processCurrentsBatch(messagesFor(integration.id, [[demoEvent(emailSend()), demoEvent(emailSend())]]), deps());
  assert.equal(broken.written.events, 0);
  assert.equal(broken.parked.events, 2);
  assert.ok(broken.parked.reasons['auth']);
  const parked = await listBlobs(stack.service, stack.app.settings.PARKED_CONTAINER, `${integration.id}/`);
  assert.equal(parked.length, 1);
  const parkedText = (await readBlob(stack.service, stack.app.settings.PARKED_CONTAINER, parked[0])).toString();
  assert.equal(parkedText.trim().split('\n').length, 2);
  assert.doesNotMatch(stack.logs.join('\n'), /AccountKey=[A-Za-z0-9+/]{20}/, 'no key in logs');

  // The customer fixes the key: the next auth failure re-reads the secret and the write succeeds.
  stack.setSecret(integration.connectionStringSecret, stack.azurite.connectionString);
  const healed = await processCurrentsBatch(messagesFor(integration.id, [[demoEvent(emailSend())]]), deps());
  assert.equal(healed.written.events, 1);
  assert.equal(healed.parked.events, 0);
});

test('a missing container parks the events with its reason', async () => {
  const integration = await stack.addIntegration({ eventTypes: ['users.messages.email.Send'] }, { createContainer: false });
  const report = await processCurrentsBatch(messagesFor(integration.id, [[demoEvent(emailSend())]]), deps());
  assert.equal(report.parked.events, 1);
  assert.ok(report.parked.reasons['missing-container']);
});

test('an unreachable destination fails only after the other integrations were written, so the batch is retried', async () => {
  const healthy = await stack.addIntegration({ eventTypes: ['users.messages.email.Send'] });
  const unreachable = await stack.addIntegration({ eventTypes: ['users.messages.email.Send'] });
  // A real fault: a port with nothing listening (connection refused).
  stack.setSecret(unreachable.connectionStringSecret, stack.azurite.connectionString.replace(/BlobEndpoint=http:\/\/127\.0\.0\.1:\d+/, 'BlobEndpoint=http://127.0.0.1:9'));
  const batch = [...messagesFor(unreachable.id, [[demoEvent(emailSend())]]), ...messagesFor(healthy.id, [[demoEvent(emailSend())]])];
  await assert.rejects(processCurrentsBatch(batch, deps()), RetryableBatchError);
  assert.equal((await listBlobs(stack.service, healthy.container)).length, 1);
});
