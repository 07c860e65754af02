import { createHash } from 'node:crypto';
import type { ContainerClient } from '@azure/storage-blob';
import { classifyStorageError } from '../storage/errors';
import { padOffset } from './naming';

/**
 * Bad input is kept, not thrown away: one JSON-lines blob per message in the app's own storage,
 * each line naming the message, the event index and field, and the reason, with the event itself.
 */
export interface QuarantineEntry {
  messageId: string;
  sequenceNumber: string;
  integrationId?: string;
  /** Index of the event in the message's `events` array; absent when the whole message is bad. */
  eventIndex?: number;
  eventId?: string;
  eventType?: string;
  field: string;
  reason: string;
  /** The offending event or (for message-level problems) the raw body. */
  payload: unknown;
}

export interface QuarantineSink {
  record(entries: QuarantineEntry[], at: { day: string; partition: number; offset: bigint }): Promise<string>;
}

export class BlobQuarantine implements QuarantineSink {
  constructor(private readonly container: ContainerClient) {}

  /**
   * The name holds a hash of the content, so a redelivered message maps to the same blob and a 409
   * provably means "already quarantined" — and different content can never be mistaken for it.
   */
  async record(entries: QuarantineEntry[], at: { day: string; partition: number; offset: bigint }): Promise<string> {
    const body = Buffer.from(entries.map((e) => JSON.stringify({ ...e, quarantinedFor: e.reason })).join('\n') + '\n');
    const digest = createHash('sha256').update(body).digest('hex').slice(0, 16);
    const name = `date=${at.day}/${at.partition}+${padOffset(at.offset)}-${digest}.jsonl`;
    try {
      await this.container.getBlockBlobClient(name).upload(body, body.length, {
        conditions: { ifNoneMatch: '*' },
        blobHTTPHeaders: { blobContentType: 'application/x-ndjson' },
        metadata: { entries: String(entries.length) },
      });
    } catch (err) {
      if (classifyStorageError(err) !== 'conflict') throw err;
    }
    return name;
  }
}
