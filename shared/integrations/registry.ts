import type { ContainerClient } from '@azure/storage-blob';
import { classifyStorageError, storageErrorCode } from '../storage/errors';
import { currentsCatalog } from '../currents/schemas/catalog';
import { parseIntegration, InvalidIntegrationError, type Integration, type IntegrationInput } from './integration';

/**
 * Integrations as JSON documents (`<id>.json`) in the app's own storage; ETags guard updates.
 * Reads are cached briefly so a batch costs no registry calls, and edits show up within the TTL.
 */
export type IntegrationLookup =
  | { kind: 'found'; integration: Integration }
  | { kind: 'missing' }
  | { kind: 'invalid'; error: InvalidIntegrationError };

export interface IntegrationSource {
  get(id: string): Promise<IntegrationLookup>;
}

export class BlobIntegrationRegistry implements IntegrationSource {
  private readonly cache = new Map<string, { at: number; value: Promise<IntegrationLookup> }>();

  constructor(
    private readonly container: ContainerClient,
    private readonly options: { ttlMs: number; now?: () => number },
  ) {}

  private now(): number {
    return (this.options.now ?? Date.now)();
  }

  async get(id: string): Promise<IntegrationLookup> {
    const hit = this.cache.get(id);
    if (hit && this.now() - hit.at < this.options.ttlMs) return hit.value;
    const value = this.read(id);
    this.cache.set(id, { at: this.now(), value });
    // A failed read is not cached: the next batch tries again.
    value.catch(() => this.cache.delete(id));
    return value;
  }

  private async read(id: string): Promise<IntegrationLookup> {
    let text: string;
    try {
      text = (await this.container.getBlockBlobClient(`${id}.json`).downloadToBuffer()).toString('utf8');
    } catch (err) {
      if (storageErrorCode(err) === 'BlobNotFound') return { kind: 'missing' };
      throw err;
    }
    try {
      const integration = parseIntegration(JSON.parse(text), currentsCatalog());
      // A copied or hand-edited document must not route this id's events with another integration's settings.
      if (integration.id !== id) {
        return { kind: 'invalid', error: new InvalidIntegrationError(id, [`id: the document stored as ${id}.json has id "${integration.id}"`]) };
      }
      return { kind: 'found', integration };
    } catch (err) {
      if (err instanceof InvalidIntegrationError) return { kind: 'invalid', error: err };
      return { kind: 'invalid', error: new InvalidIntegrationError(id, [`document is not valid JSON: ${(err as Error).message}`]) };
    }
  }

  /**
   * Validates and stores an integration. `ifMatch` (an ETag from a previous put) makes the update
   * fail instead of overwriting someone else's concurrent edit; omit it to create-or-replace.
   */
  async put(input: IntegrationInput, options: { ifMatch?: string } = {}): Promise<{ integration: Integration; etag: string }> {
    const integration = parseIntegration(input, currentsCatalog());
    const body = JSON.stringify(integration, null, 2);
    try {
      const res = await this.container.getBlockBlobClient(`${integration.id}.json`).upload(body, Buffer.byteLength(body), {
        conditions: options.ifMatch ? { ifMatch: options.ifMatch } : undefined,
        blobHTTPHeaders: { blobContentType: 'application/json' },
      });
      this.cache.delete(integration.id);
      return { integration, etag: res.etag ?? '' };
    } catch (err) {
      if (classifyStorageError(err) === 'invalid' && storageErrorCode(err) === 'ConditionNotMet') {
        throw new Error(`integration ${integration.id} was changed by someone else; reload and retry`);
      }
      throw err;
    }
  }
}
