import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestStack, messagesFor, listBlobs, readBlob, type TestStack } from '../support/stack';
import { processCurrentsBatch } from '../../shared/currents/pipeline';
import { mapLimit } from '../../shared/util/mapLimit';
import { decodeWithAvsc } from '../support/avsc';
import { decodeWithPython } from '../support/pythonAvro';
import { quarantineLines, assertQuarantined, CURRENTS_NAME } from './corpus';

/**
 * A million tiny messages (one event each) in ONE processCurrentsBatch call: no crash, memory bounded,
 * every event written exactly once, and files not exploded — events of one type/hour/partition share
 * files of MAX_EVENTS_PER_FILE (15,000) events. A handful of bad messages are mixed in and quarantined.
 * MILLION_MESSAGES overrides the count (e.g. for a quick local run).
 */
const N = Number(process.env.MILLION_MESSAGES ?? 1_000_000);
const BAD_EVERY = 100_000;
const TYPE = 'users.UserDeleteRequest'; // the smallest Currents event: id, user_id, app_group_id?, time

let stack: TestStack;
before(async () => {
  stack = await startTestStack();
});
after(async () => {
  await stack?.close();
});

test(`${N.toLocaleString('en-US')} one-event messages in one batch: all written, ${Math.ceil(N / 15_000)} files, bounded memory`, async (t) => {
  const integration = await stack.addIntegration({ eventTypes: [TYPE] });
  const time = Math.floor(Date.now() / 1000);
  const slots: Record<string, unknown>[][] = new Array(N);
  const badIndexes: number[] = [];
  for (let i = 0; i < N; i++) {
    const bad = i % BAD_EVERY === BAD_EVERY - 1;
    if (bad) badIndexes.push(i);
    slots[i] = [bad ? { event_type: TYPE, id: `e${i}`, user_id: 'u', time: `${time}` } : { event_type: TYPE, id: `e${i}`, user_id: 'u', time }];
  }
  const messages = messagesFor(integration.id, slots, { queuedAt: new Date('2026-12-01T07:30:00Z') });
  const good = N - badIndexes.length;

  const rssBefore = process.memoryUsage().rss;
  const started = process.hrtime.bigint();
  const report = await processCurrentsBatch(messages, stack.app.deps(stack.log));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const peakRss = process.resourceUsage().maxRSS * 1024;

  const names = await listBlobs(stack.service, integration.container);
  t.diagnostic(
    `million-message batch: ${N} messages, ${seconds.toFixed(1)} s in processCurrentsBatch, peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB ` +
      `(before the call ${(rssBefore / 2 ** 20).toFixed(0)} MiB, Azurite in-process), ${names.length} files`,
  );

  assert.equal(report.messages, N);
  assert.equal(report.written.events, good);
  assert.equal(report.quarantined.events, badIndexes.length);
  assert.equal(report.retryableFailures.length, 0);
  assert.ok(seconds < 60, `${seconds.toFixed(1)} s`);
  assert.ok(peakRss < 3 * 2 ** 30, `peak RSS ${(peakRss / 2 ** 20).toFixed(0)} MiB`);

  // Files not exploded: one series (type, hour, partition), full files of 15,000 but the last.
  assert.equal(names.length, Math.ceil(good / 15_000));
  assert.equal(report.written.files, names.length);
  for (const n of names) assert.match(n, CURRENTS_NAME(integration.id));
  assert.ok(names.every((n) => n.includes(`/event_type=${TYPE}/date=2026-12-01-07/`)));

  // Every id exactly once (avsc over every file; Apache Avro over the first and last file).
  const seen = new Uint8Array(N);
  const perFile = await mapLimit(names, 4, async (name) => {
    const bytes = await readBlob(stack.service, integration.container, name);
    const { records } = await decodeWithAvsc(bytes);
    for (const r of records) seen[Number((r.id as string).slice(1))] += 1;
    return { name, bytes, count: records.length };
  });
  perFile.slice(0, -1).forEach((f) => assert.equal(f.count, 15_000, f.name));
  for (const b of badIndexes) assert.equal(seen[b], 0, `bad event e${b} written`);
  let once = 0;
  for (let i = 0; i < N; i++) if (seen[i] === 1) once += 1;
  assert.equal(once, good, 'every good event exactly once');
  const sample = [perFile[0], perFile[perFile.length - 1]];
  const viaPython = decodeWithPython(sample.map((f) => f.bytes));
  assert.deepEqual(viaPython.map((d) => d.records.length), sample.map((f) => f.count));

  const lines = await quarantineLines(stack, badIndexes.map((i) => messages[i]));
  for (const i of badIndexes) {
    assertQuarantined(lines, { messageId: messages[i].messageId, eventIndex: 0, field: 'time', reason: `field "time": expected int, got string "${time}"`, eventId: `e${i}` });
  }
});
