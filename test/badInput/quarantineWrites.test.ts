import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { processCurrentsBatch, RetryableBatchError, type CurrentsDeps } from '../../shared/currents/pipeline';
import { BlobQuarantine, type QuarantineSink } from '../../shared/currents/quarantine';
import { startTestStack, messagesFor, type TestStack } from '../support/stack';
import { goodEvent, quarantineLines, writtenRecords, assertWrittenIds } from './corpus';

/**
 * Many bad messages in one batch: one quarantine blob per message, written without exhausting sockets,
 * and a failing quarantine write (the app's own storage) turns into a retry of the batch — never into
 * an unhandled rejection, which would take the Functions worker (and every batch in it) down.
 */
let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack.close();
});

/** Destinations that answer after `ms` (a Key Vault read, a slow customer account). */
function slowDestinations(deps: CurrentsDeps, ms: number): CurrentsDeps['destinations'] {
  return {
    resolve: async (target) => {
      await new Promise((r) => setTimeout(r, ms));
      return deps.destinations.resolve(target);
    },
    refresh: (target, stale) => deps.destinations.refresh(target, stale),
  };
}

test('a quarantine write that fails while the batch is still writing files: RetryableBatchError, no unhandled rejection, good events written', async () => {
  const integration = await stack.addIntegration();
  const good = [goodEvent(), goodEvent(), goodEvent()];
  const messages = messagesFor(integration.id, [[good[0]], [goodEvent(undefined, { time: 'bad' })], [good[1]], [goodEvent(undefined, { id: 7 })], [good[2]]]);
  const deps = stack.app.deps(stack.log);
  // Our own quarantine container is gone (or its account throttles): every quarantine write fails fast.
  const broken = { ...deps, quarantine: new BlobQuarantine(stack.service.getContainerClient('quarantine-that-does-not-exist')), destinations: slowDestinations(deps, 300) };
  const unhandled: unknown[] = [];
  const onUnhandled = (reason: unknown) => unhandled.push(reason);
  process.on('unhandledRejection', onUnhandled);
  try {
    await assert.rejects(processCurrentsBatch(messages, broken), (err: unknown) => {
      assert.ok(err instanceof RetryableBatchError, String(err));
      assert.ok(err.failures.some((f) => /^quarantine: .*ContainerNotFound/.test(f)), err.failures.join('\n'));
      return true;
    });
    await new Promise((r) => setTimeout(r, 50));
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
  assert.deepEqual(
    unhandled.map((e) => String((e as Error)?.message ?? e).split('\n')[0]),
    [],
    'a rejected quarantine write was left unhandled while the groups were delivered (Node exits on unhandled rejections by default)',
  );
  assertWrittenIds(await writtenRecords(stack, integration.container), good.map((e) => e.id));
});

test('600 bad messages in one batch: quarantine writes are bounded in flight, every one lands, every good event is written', async () => {
  const integration = await stack.addIntegration();
  const real = new BlobQuarantine(stack.service.getContainerClient(stack.app.settings.QUARANTINE_CONTAINER));
  let inFlight = 0;
  let maxInFlight = 0;
  const counting: QuarantineSink = {
    async record(entries, at) {
      inFlight += 1;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        return await real.record(entries, at);
      } finally {
        inFlight -= 1;
      }
    },
  };
  const good: Record<string, unknown>[] = [];
  const slots: Record<string, unknown>[][] = [];
  for (let i = 0; i < 600; i++) {
    const g = goodEvent();
    good.push(g);
    slots.push([g, goodEvent(undefined, { email_address: null })]);
  }
  const messages = messagesFor(integration.id, slots);
  const report = await processCurrentsBatch(messages, { ...stack.app.deps(stack.log), quarantine: counting });
  assert.equal(report.quarantined.messages, 600);
  const lines = await quarantineLines(stack, messages);
  assert.equal(lines.length, 600);
  assert.ok(lines.every((l) => l.field === 'email_address' && l.eventIndex === 1 && l.reason === 'required field "email_address" is missing'));
  assertWrittenIds(await writtenRecords(stack, integration.container, { python: false }), good.map((e) => e.id));
  // One socket per bad message at once exhausts file descriptors on a big batch (EMFILE / ECONNRESET).
  assert.ok(maxInFlight <= 64, `${maxInFlight} quarantine writes in flight at once`);
});
