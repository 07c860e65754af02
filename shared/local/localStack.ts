import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { BlobServiceClient } from '@azure/storage-blob';
import { loadSettings, type Settings } from '../config/settings';
import { createCurrentsApp, type CurrentsApp } from '../app';
import { CountingTelemetry } from '../telemetry/telemetry';
import { startAzurite, type RunningAzurite } from './azurite';
import { DurableQueue } from './durableQueue';
import type { IntegrationInput } from '../integrations/integration';

/**
 * Everything `npm start` needs on a machine without Azure: Azurite (persisted under the data
 * folder), a local secrets file, the durable queue, and a demo integration subscribed to every
 * event type. Any setting can still be overridden through the environment.
 */
export const DEMO_INTEGRATION_ID = '5f0c1a2b3c4d5e6f7a8b9c0d';
export const DEMO_SECRET = 'demo-destination-connection-string';
export const DEMO_CONTAINER = 'currents-demo';

export interface LocalStackOptions {
  dataDir: string;
  /** The app's own storage; when set, no Azurite is started here (e.g. one that outlives a killed run). */
  storageConnectionString?: string;
  /** Customer storage to write to; defaults to the app's storage. */
  destinationConnectionString?: string;
  codec?: 'null' | 'deflate';
  inMemoryAzurite?: boolean;
  lockDurationMs?: number;
  maxDeliveryCount?: number;
}

export interface LocalStack {
  /** The embedded Azurite, when one was started. */
  azurite?: RunningAzurite;
  settings: Settings;
  app: CurrentsApp;
  telemetry: CountingTelemetry;
  queue: DurableQueue;
  destination: BlobServiceClient;
  demoIntegration: IntegrationInput;
  close(): Promise<void>;
}

export async function startLocalStack(options: LocalStackOptions): Promise<LocalStack> {
  const dataDir = resolve(options.dataDir);
  mkdirSync(dataDir, { recursive: true });
  const azurite = options.storageConnectionString
    ? undefined
    : await startAzurite(options.inMemoryAzurite ? {} : { location: join(dataDir, 'azurite') });
  const storageConnectionString = options.storageConnectionString ?? azurite!.connectionString;
  const destinationConnectionString = options.destinationConnectionString ?? storageConnectionString;
  const secretsFile = join(dataDir, 'secrets.json');
  writeFileSync(secretsFile, JSON.stringify({ [DEMO_SECRET]: destinationConnectionString }, null, 2), { mode: 0o600 });

  const settings = loadSettings({ ...process.env, APP_STORAGE_CONNECTION_STRING: storageConnectionString, LOCAL_SECRETS_FILE: secretsFile, KEY_VAULT_URL: '' });
  const telemetry = new CountingTelemetry();
  const app = createCurrentsApp(settings, { telemetry });
  await app.ready();

  const destination = BlobServiceClient.fromConnectionString(destinationConnectionString);
  await destination.getContainerClient(DEMO_CONTAINER).createIfNotExists();
  const demoIntegration: IntegrationInput = {
    id: DEMO_INTEGRATION_ID,
    name: 'Local demo Current',
    contactEmail: 'data-team@example.com',
    connectionStringSecret: DEMO_SECRET,
    container: DEMO_CONTAINER,
    prefix: 'currents',
    eventTypes: ['*'],
    codec: options.codec ?? 'null',
    transformations: [{ field: 'email_address', action: 'hash' }],
  };
  await app.registry.put(demoIntegration);

  const queue = DurableQueue.open(join(dataDir, 'queues', `${settings.CURRENTS_EVENTS_QUEUE}.sqlite`), {
    lockDurationMs: options.lockDurationMs ?? 60_000,
    maxDeliveryCount: options.maxDeliveryCount ?? 10,
  });
  return {
    azurite,
    settings,
    app,
    telemetry,
    queue,
    destination,
    demoIntegration,
    close: async () => {
      queue.close();
      await azurite?.close();
    },
  };
}
