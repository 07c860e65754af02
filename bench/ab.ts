/**
 * Interleaved A/B of two or more builds of the pipeline, for judging a change on a noisy machine:
 *
 *   npm run build && node --expose-gc dist/bench/ab.js --builds .,/tmp/other-checkout [--events 20000] [--codec null] [--destination azurite|none]
 *
 * Each build is a checkout with `dist/` compiled (`npm run build`); its own shared/ code is loaded, so
 * the builds run side by side in ONE process on the same input, alternating every repetition (the
 * order rotates). `--destination none` replaces the customer's storage with uploads that succeed at
 * once: the pipeline's CPU cost alone, the steadiest figure when other work shares the machine.
 * Azurite (for `azurite`, and for the app's own storage either way) runs in the parent process.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { startAzurite } from '../shared/local/azurite';
import { currentsCatalog } from '../shared/currents/schemas/catalog';
import type { BatchReport, CurrentsDeps } from '../shared/currents/pipeline';
import type { QueueMessage } from '../shared/currents/queueMessage';
import { makeBodies, readdress, SequenceSource, type Body } from './lib/input';
import { median, madPct, fmtInt, fmt2, table } from './lib/stats';
import { collectGarbage } from './lib/memory';

interface Build {
  dir: string;
  bodies: Body[];
  container: ContainerClient;
  run(messages: QueueMessage[]): Promise<BatchReport>;
  ms: number[];
  cpu: number[];
}

async function child(): Promise<void> {
  const { values } = parseArgs({ options: { builds: { type: 'string' }, events: { type: 'string', default: '20000' }, codec: { type: 'string', default: 'null' }, destination: { type: 'string', default: 'azurite' }, reps: { type: 'string', default: '15' }, warmups: { type: 'string', default: '4' }, 'events-per-message': { type: 'string', default: '100' } } });
  const connectionString = process.env.AB_CONNECTION_STRING!;
  const events = Number(values.events);
  const reps = Number(values.reps);
  const warmups = Number(values.warmups);
  const dirs = values.builds!.split(',').map((d) => resolve(d));
  const work = mkdtempSync(join(tmpdir(), 'currents-ab-'));
  const secretsFile = join(work, 'secrets.json');
  writeFileSync(secretsFile, JSON.stringify({ 'ab-destination': connectionString }), { mode: 0o600 });
  const service = BlobServiceClient.fromConnectionString(connectionString);
  const base = makeBodies(events, Number(values['events-per-message']), '0'.repeat(24), currentsCatalog().availableIn(10));
  const builds: Build[] = [];
  for (const dir of dirs) {
    /* eslint-disable @typescript-eslint/no-require-imports */
    const { loadSettings } = require(join(dir, 'dist/shared/config/settings'));
    const { createCurrentsApp } = require(join(dir, 'dist/shared/app'));
    const { processCurrentsBatch } = require(join(dir, 'dist/shared/currents/pipeline'));
    const app = createCurrentsApp(loadSettings({ ...process.env, APP_STORAGE_CONNECTION_STRING: connectionString, LOCAL_SECRETS_FILE: secretsFile, KEY_VAULT_URL: '' }));
    await app.ready();
    const id = randomBytes(12).toString('hex');
    const container = service.getContainerClient(`ab-${id}`);
    await container.createIfNotExists();
    await app.registry.put({ id, name: `ab ${dir}`, contactEmail: 'bench@example.com', connectionStringSecret: 'ab-destination', container: container.containerName, eventTypes: ['*'], codec: values.codec });
    const deps: CurrentsDeps = app.deps({ info: () => undefined, warn: (m: string) => console.error(m), error: (m: string) => console.error(m) });
    if (values.destination === 'none') {
      const instant = { getBlockBlobClient: () => ({ upload: async () => ({}) }) } as unknown as ContainerClient;
      deps.destinations = { resolve: async () => ({ container: instant, secretVersion: 'ab' }), refresh: async () => ({ container: instant, secretVersion: 'ab' }) };
    }
    builds.push({ dir, bodies: readdress(base, id), container, run: (m) => processCurrentsBatch(m, deps), ms: [], cpu: [] });
  }
  const seq = new SequenceSource();
  for (let r = 0; r < warmups + reps; r++) {
    for (let k = 0; k < builds.length; k++) {
      const b = builds[(k + r) % builds.length];
      const messages = seq.messages(b.bodies);
      collectGarbage();
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const report = await b.run(messages);
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      if (report.written.events !== events) throw new Error(`${b.dir}: wrote ${report.written.events} of ${events} events`);
      if (values.destination !== 'none') await Promise.all(report.written.names.map((n) => b.container.deleteBlob(n)));
      if (r >= warmups) {
        b.ms.push(ms);
        b.cpu.push((cpu.user + cpu.system) / events);
      }
    }
  }
  const first = median(builds[0].ms);
  console.log(`${fmtInt(events)} events/batch, codec ${values.codec}, destination ${values.destination}, median of ${reps} interleaved runs`);
  console.log(
    table(
      ['build', 'events/s', '±%', 'CPU µs/event', 'speed-up'],
      builds.map((b) => [b.dir, fmtInt((events / median(b.ms)) * 1000), fmt2(madPct(b.ms)), fmt2(median(b.cpu)), `${fmt2(first / median(b.ms))}×`]),
    ),
  );
  rmSync(work, { recursive: true, force: true });
}

async function parent(): Promise<void> {
  const azurite = await startAzurite();
  try {
    const code = await new Promise<number | null>((done) => {
      const c = fork(__filename, process.argv.slice(2), { execArgv: ['--expose-gc'], env: { ...process.env, AB_CONNECTION_STRING: azurite.connectionString } });
      c.on('exit', done);
    });
    process.exitCode = code ?? 1;
  } finally {
    await azurite.close();
  }
}

(process.env.AB_CONNECTION_STRING ? child() : parent()).catch((err) => {
  console.error(err);
  process.exit(1);
});
