import { test } from 'node:test';
import assert from 'node:assert/strict';
import { runScenario, summarize, resultDetails, assertNoLoss, type ScenarioResult } from './harness';
import { bursts, firstOf, requestRange } from '../support/faultProxy';

/**
 * The customer's storage starts refusing our key mid-stream (403 AuthenticationFailed: key rotated or
 * revoked, firewall…) and later accepts it again, 50,000 events. While it refuses, the events are
 * parked in the app's storage (the secret is re-read once; it has not changed); after it heals they
 * are written. Parked events stay parked (resuming them is a later feature). Each event must be in
 * exactly one place: a file or the parked container — an event both parked and written would be
 * written a second time when the parked events are resumed.
 */
function assertOnePlaceEach(r: ScenarioResult): void {
  assertNoLoss(r);
  const why = `${summarize(r)}\n${resultDetails(r)}`;
  assert.ok(r.parkedRecords > 0 && r.fileRecords > 0, `the outage must park some events and the healed destination take the rest\n${why}`);
  assert.deepEqual(Object.keys(r.parkedReasons), ['auth'], `parked for the refused credentials only\n${why}`);
  assert.equal(r.duplicatesInFiles, 0, `DUPLICATES in the customer's files\n${why}`);
  assert.equal(r.duplicatesInParked, 0, `DUPLICATES in the parked container\n${why}`);
  assert.equal(
    r.parkedAndWritten,
    0,
    `DUPLICATES: ${r.parkedAndWritten} events are both in the customer's files and parked (they would be delivered twice on resume)\n${why}`,
  );
}

test('403 AuthenticationFailed mid-stream, then healed: refused events parked, the rest written, each event in one place', async (t) => {
  const r = await runScenario({
    name: '403 mid-stream then healed',
    env: { STORAGE_MAX_TRIES: '2' },
    plan: () => requestRange('auth-failed', { from: 150, until: 190 }),
  });
  t.diagnostic(summarize(r));
  assert.equal(r.proxy.byKind['auth-failed'], 40, 'requests 150–189 refused, then healed');
  assertOnePlaceEach(r);
});

test('403 on writes mid-stream while 503 bursts force redeliveries: each event in one place', async (t) => {
  // Listings pass: a redelivery can always see what is already in the customer's container.
  const r = await runScenario({
    name: '403 on writes + 503 bursts',
    env: { STORAGE_MAX_TRIES: '1' },
    plan: () => firstOf(requestRange('auth-failed', { from: 150, until: 190, ops: ['put-blob'] }), bursts('server-busy', { period: 20, length: 2 })),
  });
  t.diagnostic(summarize(r));
  assert.equal(r.proxy.byKind['auth-failed'], 40);
  assert.ok(r.deliveries.abandonedMessages > 0, 'batches were redelivered');
  assertOnePlaceEach(r);
});

/**
 * When the 403 also hits the listing a redelivered group starts with, the app cannot see which of the
 * group's events an earlier delivery already wrote, so it parks them all: such events are both
 * written and parked, and only the resume (writing parked events with the same coverage check) can
 * keep them from being delivered twice. Measured and reported; loss and duplicates within files or
 * within parked events are still failures.
 */
test('403 on every request mid-stream while 503 bursts force redeliveries: no loss; overlap of parked and written reported', async (t) => {
  const r = await runScenario({
    name: '403 on all requests + 503 bursts',
    env: { STORAGE_MAX_TRIES: '1' },
    plan: () => firstOf(requestRange('auth-failed', { from: 150, until: 190 }), bursts('server-busy', { period: 20, length: 2 })),
  });
  t.diagnostic(summarize(r));
  t.diagnostic(`${r.parkedAndWritten} events are both parked and written: the resume must skip what the customer's files already cover`);
  assertNoLoss(r);
  const why = `${summarize(r)}\n${resultDetails(r)}`;
  assert.ok(r.parkedRecords > 0 && r.fileRecords > 0, why);
  assert.equal(r.duplicatesInFiles, 0, `DUPLICATES in the customer's files\n${why}`);
  assert.equal(r.duplicatesInParked, 0, `DUPLICATES in the parked container\n${why}`);
});
