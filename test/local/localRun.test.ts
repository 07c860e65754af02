import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { currentsCatalog } from '../../shared/currents/schemas/catalog';

const run = promisify(execFile);
const script = join(__dirname, '..', '..', 'scripts', 'local.js');

test('npm start one-shot: every event type written to the embedded Azurite, JSON summary on stdout', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'currents-local-'));
  try {
    const { stdout, stderr } = await run(process.execPath, [script, '--events', '3000', '--in-memory', '--data-dir', dir], { maxBuffer: 16 * 1024 * 1024 });
    const summary = JSON.parse(stdout);
    assert.equal(summary.mode, 'one-shot');
    assert.equal(summary.events.sent, 3000);
    assert.equal(summary.events.written, 3000);
    assert.equal(summary.container.eventTypes, currentsCatalog().availableIn(10).length);
    assert.equal(summary.queue.deadLettered, 0);
    assert.ok(summary.eventsPerSecond > 0);
    assert.match(stderr, /files: {2}http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/currents-demo\/currents\//);
    assert.doesNotMatch(stdout + stderr, /AccountKey=/, 'no key in output');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
