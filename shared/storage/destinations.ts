import { BlobServiceClient, type ContainerClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { StorageWriteError } from './errors';
import { withTryTimeout } from './appStorage';

/** What the destinations need from the secret cache (see shared/secrets/cachedSecrets.ts). */
export interface SecretReader {
  get(name: string): Promise<{ value: string; version: string }>;
  refresh(name: string, staleVersion?: string): Promise<{ value: string; version: string }>;
}

export interface Destination {
  container: ContainerClient;
  /** Version of the connection-string secret this client was built from. */
  secretVersion: string;
}

/**
 * A customer's container, reached with the connection string from the secret store.
 * Clients are cached per secret version: a rotated secret gets a new client, an unchanged one reuses its connections.
 */
export class Destinations {
  private readonly clients = new Map<string, BlobServiceClient>();
  /** Container clients per service client (building one parses and copies the pipeline: once per batch group adds up). */
  private readonly containers = new WeakMap<BlobServiceClient, Map<string, ContainerClient>>();

  constructor(
    private readonly secrets: SecretReader,
    private readonly options: StoragePipelineOptions,
  ) {}

  async resolve(target: { connectionStringSecret: string; container: string }): Promise<Destination> {
    return this.toDestination(target, await this.secrets.get(target.connectionStringSecret));
  }

  /** After an authentication failure: re-read the secret (shared with concurrent callers). */
  async refresh(target: { connectionStringSecret: string; container: string }, staleVersion: string): Promise<Destination> {
    return this.toDestination(target, await this.secrets.refresh(target.connectionStringSecret, staleVersion));
  }

  private toDestination(target: { connectionStringSecret: string; container: string }, secret: { value: string; version: string }): Destination {
    const key = `${target.connectionStringSecret}@${secret.version}`;
    let client = this.clients.get(key);
    if (!client) {
      try {
        client = BlobServiceClient.fromConnectionString(secret.value, this.options);
      } catch {
        // The SDK's message may quote the string: never pass it on.
        throw new StorageWriteError('auth', `secret ${target.connectionStringSecret} (version ${secret.version}) is not a valid storage connection string`, 'InvalidConnectionString');
      }
      // A try that never gets an answer must end (see withTryTimeout).
      const tryTimeoutMs = this.options.retryOptions?.tryTimeoutInMs;
      if (tryTimeoutMs) withTryTimeout(client, tryTimeoutMs);
      for (const old of this.clients.keys()) if (old.startsWith(`${target.connectionStringSecret}@`)) this.clients.delete(old);
      this.clients.set(key, client);
    }
    let containers = this.containers.get(client);
    if (!containers) {
      containers = new Map();
      this.containers.set(client, containers);
    }
    let container = containers.get(target.container);
    if (!container) {
      container = client.getContainerClient(target.container);
      containers.set(target.container, container);
    }
    return { container, secretVersion: secret.version };
  }
}
