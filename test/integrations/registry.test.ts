import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { InvalidIntegrationError } from '../../shared/integrations/integration';
import { startTestStack, type TestStack } from '../support/stack';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack.close();
});

const valid = {
  id: 'aaaaaaaaaaaaaaaaaaaaaaaa',
  name: 'Warehouse',
  contactEmail: 'data@example.com',
  connectionStringSecret: 'warehouse-conn',
  container: 'braze-currents',
  eventTypes: ['message_engagement', 'users.behaviors.CustomEvent'],
};

test('stores an integration with defaults and reads it back', async () => {
  await stack.app.registry.put(valid);
  const got = await stack.app.registry.get(valid.id);
  assert.equal(got.kind, 'found');
  if (got.kind !== 'found') return;
  assert.equal(got.integration.prefix, 'currents');
  assert.equal(got.integration.codec, 'null');
  assert.equal(got.integration.status, 'active');
  assert.deepEqual(got.integration.transformations, []);
  assert.equal((await stack.app.registry.get('bbbbbbbbbbbbbbbbbbbbbbbb')).kind, 'missing');
});

test('rejects bad settings with errors naming each field', async () => {
  const bad = {
    ...valid,
    id: 'cccccccccccccccccccccccc',
    contactEmail: 'not-an-email',
    container: 'Bad_Container',
    prefix: '../escape',
    eventTypes: ['users.messages.pigeon.Send'],
    transformations: [{ field: 'time', action: 'hash' }],
  };
  await assert.rejects(stack.app.registry.put(bad as never), (err: unknown) => {
    assert.ok(err instanceof InvalidIntegrationError);
    for (const f of ['contactEmail', 'container', 'prefix']) assert.match(err.message, new RegExp(f));
    return true;
  });
  await assert.rejects(stack.app.registry.put({ ...valid, id: 'cccccccccccccccccccccccc', eventTypes: ['users.messages.pigeon.Send'] }), /"users\.messages\.pigeon\.Send" is neither an event group nor a known event type/);
  await assert.rejects(stack.app.registry.put({ ...valid, id: 'cccccccccccccccccccccccc', transformations: [{ field: 'time', action: 'hash' }] }), /"time" is not a string field/);
  for (const prefix of ['a//b', '/lead', 'x/../y', 'tab\there', 'nul\u0000']) {
    await assert.rejects(stack.app.registry.put({ ...valid, id: 'cccccccccccccccccccccccc', prefix }), /prefix/, JSON.stringify(prefix));
  }
});

test('an update with a stale ETag is refused instead of overwriting', async () => {
  const { etag } = await stack.app.registry.put({ ...valid, id: 'dddddddddddddddddddddddd' });
  await stack.app.registry.put({ ...valid, id: 'dddddddddddddddddddddddd', name: 'renamed' }, { ifMatch: etag });
  await assert.rejects(stack.app.registry.put({ ...valid, id: 'dddddddddddddddddddddddd', name: 'lost update' }, { ifMatch: etag }), /changed by someone else/);
});

test('a stored document that became invalid is reported as invalid, not missing', async () => {
  const container = stack.service.getContainerClient(stack.app.settings.REGISTRY_CONTAINER);
  await container.getBlockBlobClient('eeeeeeeeeeeeeeeeeeeeeeee.json').upload('{"id":"eeeeeeeeeeeeeeeeeeeeeeee"', 30);
  const got = await stack.app.registry.get('eeeeeeeeeeeeeeeeeeeeeeee');
  assert.equal(got.kind, 'invalid');
});
