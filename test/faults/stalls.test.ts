import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario, summarize, assertExactlyOnce } from './harness';
import { bursts, rotating } from '../support/faultProxy';

/**
 * Responses that never come (a black-holed connection, an overloaded front end), 50,000 events.
 * With STORAGE_TRY_TIMEOUT_SECONDS=1 the client must give up on a stalled request after about a
 * second and retry; the batch must still be written exactly once, including the stalls where
 * storage did create the file before the answer was lost. The proxy lets go of a stall after 6 s
 * (a reset) and counts it as "outlasted client": a client without a working timeout would otherwise
 * hang the invocation until the Functions host kills it (functionTimeout 4:30).
 */
const TRY_TIMEOUT_S = 1;
const PROXY_GIVES_UP_MS = 6_000;

test('stalled responses past the client timeout (before and after forwarding): the client gives up in time, exactly once', async (t) => {
  const r = await runScenario({
    name: 'stalls past the timeout',
    env: { STORAGE_TRY_TIMEOUT_SECONDS: String(TRY_TIMEOUT_S), STORAGE_MAX_TRIES: '2' },
    maxStallMs: PROXY_GIVES_UP_MS,
    plan: () => rotating(['stall-after', 'stall-before'], bursts('stall-after', { period: 60, length: 1, skip: 10 })),
    deadlineMs: 300_000,
  });
  t.diagnostic(summarize(r));
  assert.ok(r.proxy.byKind['stall-after'] + r.proxy.byKind['stall-before'] >= 10, 'stalls really happened');
  assertExactlyOnce(r);
  assert.equal(
    r.proxy.stalls.outlastedClient,
    0,
    `HANG: on ${r.proxy.stalls.outlastedClient} of ${r.proxy.stalls.outlastedClient + r.proxy.stalls.abandonedByClient} stalled requests the client was still waiting ` +
      `when the proxy let go after ${PROXY_GIVES_UP_MS} ms, although STORAGE_TRY_TIMEOUT_SECONDS=${TRY_TIMEOUT_S}: no client-side per-try timeout ` +
      `(the SDK's tryTimeoutInMs only sends ?timeout= to the server). Without the proxy letting go the invocation hangs. ${JSON.stringify(r.proxy.stalls)}`,
  );
  assert.ok(r.proxy.stalls.maxHeldMs < TRY_TIMEOUT_S * 1000 + 1500, `a stalled request held the client for ${r.proxy.stalls.maxHeldMs} ms`);
});
