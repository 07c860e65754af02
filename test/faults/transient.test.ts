import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario, summarize, assertExactlyOnce } from './harness';
import { bursts, periodicWindows } from '../support/faultProxy';

/**
 * Throttling and server errors from the customer's storage account, 50,000 events each, through the
 * real trigger handler and a queue with Service Bus semantics. Exactly once must hold: nothing lost,
 * nothing written twice, nothing parked (these failures are transient).
 */

test('503 ServerBusy in bursts (6 of every 20 requests, SDK retries on): exactly once', async (t) => {
  const r = await runScenario({
    name: '503 bursts',
    env: { STORAGE_MAX_TRIES: '2' },
    plan: () => bursts('server-busy', { period: 20, length: 6 }),
  });
  t.diagnostic(summarize(r));
  assertExactlyOnce(r);
  assert.ok(r.proxy.byKind['server-busy'] >= 150, 'the bursts really happened');
  assert.ok(r.deliveries.abandonedMessages > 0, 'some bursts outlasted the SDK retries and reached Service Bus redelivery');
});

test('500 InternalError outages (first 100 ms of every 500 ms fail, no SDK retries): exactly once', async (t) => {
  const r = await runScenario({
    name: '500 outage windows',
    env: { STORAGE_MAX_TRIES: '1' },
    plan: () => periodicWindows('internal-error', { periodMs: 500, openMs: 100 }),
  });
  t.diagnostic(summarize(r));
  assertExactlyOnce(r);
  assert.ok(r.proxy.byKind['internal-error'] >= 100, 'the outages really happened');
  assert.ok(r.deliveries.abandonedMessages > 0, 'batches were redelivered');
});
