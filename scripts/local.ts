import { appendFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { LogHandler } from '@azure/functions';
import { currentsEvents } from '../functions/currentsEvents';
import { currentsCatalog } from '../shared/currents/schemas/catalog';
import { startLocalStack, DEMO_CONTAINER, DEMO_INTEGRATION_ID } from '../shared/local/localStack';
import { consumeOnce, type ConsumerStats } from '../shared/local/consumer';
import { DemoProducer } from '../shared/local/producer';
import { redactSecrets } from '../shared/secrets/redact';

const HELP = `currents-blob local run: the whole app on this machine (embedded Azurite, durable local queue, local secrets).

  npm start                          stream demo events until Ctrl-C, with live progress
  npm start -- --events 50000        one-shot: send 50,000 events, write them, print a JSON summary, exit

Options:
  --events N                 one-shot mode: send N events, exit when all are written
  --drain                    send nothing: process what the queue holds (e.g. after a crash), then exit
  --rate N                   streaming mode: events per second to produce (default 2000)
  --events-per-message N     events in one Service Bus message (default 50)
  --batch-size N             messages per function invocation (default 500, host.json maxMessageBatchSize)
  --concurrency N            concurrent invocations (default 2, like maxConcurrentCalls)
  --codec null|deflate       Avro codec of the demo integration (default null)
  --destination-connection-string S
                             write to this storage account instead of the embedded Azurite
                             (also LOCAL_DESTINATION_CONNECTION_STRING)
  --storage-connection-string S
                             use this storage for the app's own data (and, by default, the files)
                             instead of starting the embedded Azurite
  --lock-seconds N           peek-lock duration of the local queue (default 60)
  --data-dir DIR             where Azurite data, the queue and secrets live (default .local)
  --reset                    delete the data dir first
  --in-memory                keep Azurite's data in memory (nothing left on disk but the queue)
  --help                     this text
Any app setting (docs/settings.md) can be set in the environment, e.g. MAX_EVENTS_PER_FILE=5000.`;

function withoutQuery(url: string): string {
  const u = new URL(url);
  u.search = '';
  return u.toString();
}

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      events: { type: 'string' },
      drain: { type: 'boolean', default: false },
      'storage-connection-string': { type: 'string' },
      'lock-seconds': { type: 'string', default: '60' },
      rate: { type: 'string', default: '2000' },
      'events-per-message': { type: 'string', default: '50' },
      'batch-size': { type: 'string', default: '500' },
      concurrency: { type: 'string', default: '2' },
      codec: { type: 'string', default: 'null' },
      'destination-connection-string': { type: 'string' },
      'data-dir': { type: 'string', default: '.local' },
      reset: { type: 'boolean', default: false },
      'in-memory': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
  });
  if (values.help) return void console.log(HELP);
  const num = (name: string, v: string | undefined) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n <= 0) throw new Error(`--${name} must be a positive whole number (got ${v})`);
    return n;
  };
  const drain = values.drain;
  if (drain && values.events !== undefined) throw new Error('--drain and --events exclude each other');
  const oneShot = values.events !== undefined ? num('events', values.events) : drain ? 0 : undefined;
  const lockSeconds = num('lock-seconds', values['lock-seconds']);
  const rate = num('rate', values.rate);
  const perMessage = num('events-per-message', values['events-per-message']);
  const batchSize = num('batch-size', values['batch-size']);
  const concurrency = num('concurrency', values.concurrency);
  if (values.codec !== 'null' && values.codec !== 'deflate') throw new Error('--codec must be null or deflate');
  const dataDir = resolve(values['data-dir']!);
  if (values.reset) rmSync(dataDir, { recursive: true, force: true });

  const started = Date.now();
  const stack = await startLocalStack({
    dataDir,
    storageConnectionString: values['storage-connection-string'],
    destinationConnectionString: values['destination-connection-string'] ?? process.env.LOCAL_DESTINATION_CONNECTION_STRING,
    lockDurationMs: lockSeconds * 1000,
    codec: values.codec,
    inMemoryAzurite: values['in-memory'],
  });
  const logFile = join(dataDir, 'app.log');
  let warnings = 0;
  const logHandler: LogHandler = (level, ...args) => {
    if (level === 'warning' || level === 'error') warnings += 1;
    appendFileSync(logFile, `${new Date().toISOString()} ${level} ${redactSecrets(args.map(String).join(' '))}\n`);
  };
  const catalog = currentsCatalog();
  const leftOver = stack.queue.counts();
  const producer = new DemoProducer(stack.queue, DEMO_INTEGRATION_ID, perMessage, catalog.availableIn(stack.settings.CURRENTS_VERSION));
  const stats: ConsumerStats = { batches: 0, completed: 0, abandoned: 0, failures: [] };
  const stop = new AbortController();
  // With a SAS connection string the client URL carries the token in its query: print the location only.
  const containerUrl = withoutQuery(stack.destination.getContainerClient(DEMO_CONTAINER).url);

  process.stderr.write(
    `currents-blob local run — ${catalog.availableIn(stack.settings.CURRENTS_VERSION).length} event types (Currents v${stack.settings.CURRENTS_VERSION}), demo integration ${DEMO_INTEGRATION_ID}\n` +
      `  files:  ${containerUrl}/${stack.demoIntegration.prefix}/…\n` +
      `  data:   ${dataDir} (Azurite, queue, secrets.json, app.log)\n` +
      (leftOver.active + leftOver.locked + leftOver.scheduled > 0 ? `  resuming: ${fmt(leftOver.active + leftOver.locked + leftOver.scheduled)} messages left in the queue by an earlier run\n` : '') +
      (drain ? '  draining the queue\n' : oneShot ? `  one-shot: ${fmt(oneShot)} events\n` : `  streaming ${fmt(rate)} events/s — Ctrl-C to stop\n`),
  );

  const written = () => stack.telemetry.totals.get('currents.events.written') ?? 0;
  let firstBatchAt = 0;
  const handler = (bodies: unknown[], context: Parameters<typeof currentsEvents>[1]) => {
    firstBatchAt ||= Date.now();
    return currentsEvents(bodies, context, stack.app);
  };
  const consumers = Array.from({ length: concurrency }, async () => {
    while (!stop.signal.aborted) {
      await consumeOnce(stack.queue, handler, { maxMessages: batchSize, maxWaitMs: 500, functionName: 'currentsEvents', signal: stop.signal, logHandler }, stats);
    }
  });

  // Producer: one-shot sends everything up front in chunks; streaming keeps a steady rate.
  const producing = (async () => {
    if (oneShot !== undefined) {
      for (let left = oneShot; left > 0; left -= 5_000) {
        producer.send(Math.min(left, 5_000));
        await new Promise((r) => setImmediate(r)); // let the consumers start while we produce
      }
      return;
    }
    while (!stop.signal.aborted) {
      producer.send(Math.max(1, Math.round(rate / 10)));
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  let lastWritten = 0;
  let lastTick = Date.now();
  const progress = setInterval(() => {
    const c = stack.queue.counts();
    const now = Date.now();
    const w = written();
    const perSec = ((w - lastWritten) * 1000) / Math.max(1, now - lastTick);
    lastWritten = w;
    lastTick = now;
    const t = stack.telemetry.totals;
    process.stderr.write(
      `[${((now - started) / 1000).toFixed(0).padStart(4)}s] sent ${fmt(producer.sent)} | written ${fmt(w)} events, ${fmt(t.get('currents.files.written') ?? 0)} files, ` +
        `${((t.get('currents.bytes.written') ?? 0) / 1e6).toFixed(1)} MB | ${fmt(perSec)} ev/s | lag ${fmt(c.active + c.locked)} msgs | ` +
        `quarantined ${fmt(t.get('currents.events.quarantined') ?? 0)} | parked ${fmt(t.get('currents.events.parked') ?? 0)} | dead-lettered ${fmt(c.deadLettered)}` +
        (stats.abandoned ? ` | retried ${fmt(stats.abandoned)} msgs` : '') + '\n',
    );
  }, 1000);

  const finished = new Promise<void>((resolveDone) => {
    const check = setInterval(() => {
      const c = stack.queue.counts();
      if (oneShot !== undefined && producer.sent >= oneShot && c.active + c.locked + c.scheduled === 0) {
        clearInterval(check);
        resolveDone();
      }
    }, 100);
    process.once('SIGINT', () => {
      clearInterval(check);
      resolveDone();
    });
  });
  await finished;
  stop.abort();
  clearInterval(progress);
  await Promise.all([...consumers, producing]);

  const endedAt = Date.now();
  const seconds = (endedAt - started) / 1000;
  const prefix = `${stack.demoIntegration.prefix}/`;
  let files = 0;
  let bytes = 0;
  const types = new Set<string>();
  const samples: string[] = [];
  for await (const blob of stack.destination.getContainerClient(DEMO_CONTAINER).listBlobsFlat({ prefix })) {
    files += 1;
    bytes += blob.properties.contentLength ?? 0;
    const m = /event_type=([^/]+)/.exec(blob.name);
    if (m) types.add(m[1]);
    if (samples.length < 3) samples.push(blob.name);
  }
  const t = stack.telemetry.totals;
  const c = stack.queue.counts();
  const summary = {
    mode: drain ? 'drain' : oneShot ? 'one-shot' : 'streaming',
    seconds: Number(seconds.toFixed(2)),
    events: {
      sent: producer.sent,
      written: written(),
      alreadyWritten: t.get('currents.events.already_written') ?? 0,
      quarantined: t.get('currents.events.quarantined') ?? 0,
      parked: t.get('currents.events.parked') ?? 0,
      droppedOversize: t.get('currents.events.dropped_oversize') ?? 0,
      skippedNotSelected: t.get('currents.events.skipped_not_selected') ?? 0,
    },
    eventsPerSecond: Math.round(written() / seconds),
    /** From the first batch to the last: the pipeline alone, without start-up and demo-event generation. */
    pipelineEventsPerSecond: firstBatchAt ? Math.round(written() / ((endedAt - firstBatchAt) / 1000)) : 0,
    thisRun: { files: t.get('currents.files.written') ?? 0, bytes: t.get('currents.bytes.written') ?? 0 },
    container: { url: containerUrl, prefix, files, bytes, eventTypes: types.size, sampleFiles: samples },
    queue: { ...c, abandonedDeliveries: stats.abandoned, lastFailures: stats.failures.slice(-3) },
    logWarnings: warnings,
    log: logFile,
  };
  console.log(redactSecrets(JSON.stringify(summary, null, 2)));
  await stack.close();
}

main().catch((err) => {
  console.error(`local run failed: ${redactSecrets((err as Error).message)}`);
  process.exit(1);
});
