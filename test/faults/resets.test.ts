import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario, summarize, assertExactlyOnce } from './harness';
import { bursts } from '../support/faultProxy';

/**
 * Connection resets, 50,000 events each. "Before" means the request never reached storage; "after"
 * means storage executed it (a file was created) and the client only lost the answer — the case
 * exactly-once is about: the retry meets its own file and must prove from the coverage metadata
 * that the events are there, neither writing them twice nor dropping them.
 */

test('connection reset before forwarding (1 of every 10 requests, no SDK retries): exactly once', async (t) => {
  const r = await runScenario({
    name: 'reset before forwarding',
    env: { STORAGE_MAX_TRIES: '1' },
    plan: () => bursts('reset-before', { period: 10, length: 1 }),
  });
  t.diagnostic(summarize(r));
  assertExactlyOnce(r);
  assert.ok(r.proxy.byKind['reset-before'] >= 60);
  assert.ok(r.deliveries.abandonedMessages > 0, 'batches were redelivered');
});

test('connection reset after forwarding, redelivery recovers (no SDK retries): exactly once', async (t) => {
  const r = await runScenario({
    name: 'reset after forwarding (redelivery)',
    env: { STORAGE_MAX_TRIES: '1' },
    plan: () => bursts('reset-after', { period: 10, length: 1 }),
  });
  t.diagnostic(summarize(r));
  assertExactlyOnce(r);
  assert.ok(r.proxy.writesCommittedAnswerLost >= 40, 'files were created whose creation the app never heard of');
});

test('connection reset after forwarding, the SDK retry meets its own file (409 + coverage proof): exactly once', async (t) => {
  const r = await runScenario({
    name: 'reset after forwarding (SDK retry, 409)',
    env: { STORAGE_MAX_TRIES: '3' },
    plan: () => bursts('reset-after', { period: 10, length: 1, ops: ['put-blob'] }),
  });
  t.diagnostic(summarize(r));
  assertExactlyOnce(r);
  assert.ok(r.proxy.writesCommittedAnswerLost >= 50, 'files were created whose creation the app never heard of');
  assert.ok((r.proxy.upstreamStatus['put-blob 409'] ?? 0) >= 50, 'the retries met their own files (create-only 409)');
});
