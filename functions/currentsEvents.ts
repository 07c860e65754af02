import { app, type InvocationContext } from '@azure/functions';
import { loadSettings } from '../shared/config/settings';
import { createCurrentsApp, type CurrentsApp } from '../shared/app';
import { processCurrentsBatch } from '../shared/currents/pipeline';
import { toQueueMessages, type BatchTriggerMetadata } from '../shared/servicebus/batchMetadata';
import { safeLog } from '../shared/telemetry/telemetry';

/** Built on the first invocation, never at import time: one bad setting must not stop every function. */
let currents: CurrentsApp | undefined;

export function currentsApp(): CurrentsApp {
  currents ??= createCurrentsApp(loadSettings());
  return currents;
}

/** Service Bus batch → plain messages → the Currents pipeline. A throw abandons the batch (redelivered). */
export async function currentsEvents(bodies: unknown[], context: InvocationContext, appOverride?: CurrentsApp): Promise<void> {
  const runtime = appOverride ?? currentsApp();
  await runtime.ready();
  const log = safeLog({ info: (m) => context.log(m), warn: (m) => context.warn(m), error: (m) => context.error(m) });
  const messages = toQueueMessages(bodies, context.triggerMetadata as BatchTriggerMetadata);
  const report = await processCurrentsBatch(messages, runtime.deps(log));
  const { names, ...written } = report.written;
  log.info(`currents batch: ${JSON.stringify({ ...report, written: { ...written, firstFiles: names.slice(0, 3) } })}`);
}

app.serviceBusQueue('currentsEvents', {
  connection: 'ServiceBusConnection',
  queueName: '%CURRENTS_EVENTS_QUEUE%',
  cardinality: 'many',
  handler: (bodies, context) => currentsEvents(bodies as unknown[], context),
});
