import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { InvocationContext } from '@azure/functions';
import { currentsEvents } from '../../functions/currentsEvents';
import { currentsCatalog } from '../../shared/currents/schemas/catalog';
import { demoEvent } from '../../shared/local/demoEvents';
import { startTestStack, listBlobs, type TestStack } from '../support/stack';

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack.close();
});

const send = () => currentsCatalog().get('users.messages.email.Send')!;

test('the Service Bus batch trigger: bodies + *Array metadata become files, the queued hour comes from the application property', async () => {
  const integration = await stack.addIntegration();
  const bodies = [
    { integrationId: integration.id, events: [demoEvent(send()), demoEvent(send())] },
    JSON.stringify({ integrationId: integration.id, events: [demoEvent(send())] }),
  ];
  const logs: string[] = [];
  const context = new InvocationContext({
    functionName: 'currentsEvents',
    logHandler: (level, ...args) => logs.push(`${level} ${args.join(' ')}`),
    triggerMetadata: {
      messageIdArray: ['m1', 'm2'],
      sequenceNumberArray: [41, 42],
      enqueuedTimeUtcArray: ['2026-12-04T10:15:00Z', '2026-12-04T10:15:01Z'],
      deliveryCountArray: [1, 1],
      applicationPropertiesArray: [{ currentsQueuedAt: '2026-12-04T08:59:00Z' }, {}],
    },
  });
  await currentsEvents(bodies, context, stack.app);
  const names = await listBlobs(stack.service, integration.container);
  assert.equal(names.length, 2);
  assert.ok(names.some((n) => n.includes('/date=2026-12-04-08/') && n.endsWith('+0+0000000041.avro')), names.join('\n'));
  assert.ok(names.some((n) => n.includes('/date=2026-12-04-10/') && n.endsWith('+0+0000000042.avro')), names.join('\n'));
  assert.ok(logs.some((l) => l.startsWith('information currents batch:')), logs.join('\n'));
});

test('missing sequence numbers are refused rather than guessed (the batch is retried)', async () => {
  const context = new InvocationContext({ functionName: 'currentsEvents', logHandler: () => undefined, triggerMetadata: { messageIdArray: ['x'] } });
  await assert.rejects(currentsEvents([{}], context, stack.app), /sequenceNumberArray is missing/);
});
