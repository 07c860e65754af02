import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { BlobServiceClient } from '@azure/storage-blob';
import { loadSettings } from '../../shared/config/settings';
import { createCurrentsApp, type CurrentsApp } from '../../shared/app';
import { CountingTelemetry, type Log } from '../../shared/telemetry/telemetry';
import { startAzurite, type RunningAzurite } from '../../shared/local/azurite';
import type { IntegrationInput } from '../../shared/integrations/integration';
import type { QueueMessage } from '../../shared/currents/queueMessage';
import { QUEUED_AT_PROPERTY } from '../../shared/currents/queueMessage';

/** A real app on a real (in-memory) Azurite, with secrets in a temp file the test can rotate. */
export interface TestStack {
  azurite: RunningAzurite;
  app: CurrentsApp;
  telemetry: CountingTelemetry;
  service: BlobServiceClient;
  logs: string[];
  log: Log;
  setSecret(name: string, value: string): void;
  /** Registers an integration writing to a fresh container (created unless `createContainer: false`). */
  addIntegration(overrides?: Partial<IntegrationInput>, options?: { createContainer?: boolean }): Promise<IntegrationInput>;
  close(): Promise<void>;
}

export async function startTestStack(env: Record<string, string> = {}): Promise<TestStack> {
  const azurite = await startAzurite();
  const dir = mkdtempSync(join(tmpdir(), 'currents-test-'));
  const secretsFile = join(dir, 'secrets.json');
  writeFileSync(secretsFile, '{}');
  const settings = loadSettings({
    APP_STORAGE_CONNECTION_STRING: azurite.connectionString,
    LOCAL_SECRETS_FILE: secretsFile,
    STORAGE_MAX_TRIES: '1',
    SECRET_CACHE_TTL_SECONDS: '3600',
    SECRET_MIN_REFRESH_SECONDS: '0',
    REGISTRY_CACHE_TTL_SECONDS: '1',
    ...env,
  });
  const telemetry = new CountingTelemetry();
  const app = createCurrentsApp(settings, { telemetry });
  await app.ready();
  const service = BlobServiceClient.fromConnectionString(azurite.connectionString);
  const logs: string[] = [];
  const log: Log = { info: (m) => logs.push(`info ${m}`), warn: (m) => logs.push(`warn ${m}`), error: (m) => logs.push(`error ${m}`) };
  const setSecret = (name: string, value: string) => {
    const current = JSON.parse(readFileSync(secretsFile, 'utf8'));
    writeFileSync(secretsFile, JSON.stringify({ ...current, [name]: value }));
  };
  return {
    azurite,
    app,
    telemetry,
    service,
    logs,
    log,
    setSecret,
    async addIntegration(overrides = {}, options = {}) {
      const id = overrides.id ?? randomBytes(12).toString('hex');
      const integration: IntegrationInput = {
        id,
        name: `test ${id}`,
        contactEmail: 'ops@example.com',
        connectionStringSecret: `conn-${id}`,
        container: `c-${id}`,
        eventTypes: ['*'],
        ...overrides,
      };
      if (!overrides.connectionStringSecret) setSecret(integration.connectionStringSecret, azurite.connectionString);
      if (options.createContainer !== false) await service.getContainerClient(integration.container).createIfNotExists();
      await app.registry.put(integration);
      return integration;
    },
    async close() {
      await azurite.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

let nextSeq = 1000n;

/** Builds queue messages the way the trigger adapter would: sequential sequence numbers, a queued-at property. */
export function messagesFor(integrationId: string, eventsPerMessage: Record<string, unknown>[][], options: { queuedAt?: Date; deliveryCount?: number; startSeq?: bigint } = {}): QueueMessage[] {
  let seq = options.startSeq ?? nextSeq;
  const out = eventsPerMessage.map((events) => {
    const s = seq++;
    return {
      body: { integrationId, events },
      messageId: `msg-${s}`,
      sequenceNumber: s,
      enqueuedTimeUtc: new Date(),
      deliveryCount: options.deliveryCount ?? 1,
      applicationProperties: options.queuedAt ? { [QUEUED_AT_PROPERTY]: options.queuedAt.toISOString() } : {},
    };
  });
  if (!options.startSeq) nextSeq = seq + 100n;
  return out;
}

export async function listBlobs(service: BlobServiceClient, container: string, prefix = ''): Promise<string[]> {
  const names: string[] = [];
  for await (const b of service.getContainerClient(container).listBlobsFlat({ prefix })) names.push(b.name);
  return names.sort();
}

export async function readBlob(service: BlobServiceClient, container: string, name: string): Promise<Buffer> {
  return service.getContainerClient(container).getBlockBlobClient(name).downloadToBuffer();
}
