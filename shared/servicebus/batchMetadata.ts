import type { QueueMessage } from '../currents/queueMessage';

/**
 * The Service Bus trigger with `cardinality: 'many'` hands over an array of bodies plus parallel
 * `*Array` trigger metadata (keys camel-cased by the Node worker). This turns them into plain messages.
 */
export interface BatchTriggerMetadata {
  messageIdArray?: unknown[];
  sequenceNumberArray?: unknown[];
  enqueuedTimeUtcArray?: unknown[];
  deliveryCountArray?: unknown[];
  applicationPropertiesArray?: unknown[];
}

export class TriggerMetadataError extends Error {}

function toBigInt(value: unknown, index: number): bigint {
  if (typeof value === 'bigint') return value;
  if (typeof value === 'number' && Number.isSafeInteger(value)) return BigInt(value);
  if (typeof value === 'string' && /^\d+$/.test(value)) return BigInt(value);
  throw new TriggerMetadataError(`sequenceNumberArray[${index}] is not an integer sequence number`);
}

export function toQueueMessages(bodies: unknown[], metadata: BatchTriggerMetadata): QueueMessage[] {
  const { messageIdArray, sequenceNumberArray, enqueuedTimeUtcArray, deliveryCountArray, applicationPropertiesArray } = metadata;
  if (!Array.isArray(sequenceNumberArray) || sequenceNumberArray.length !== bodies.length) {
    // Without sequence numbers there is no exactly-once naming: refuse rather than guess.
    throw new TriggerMetadataError(`trigger metadata sequenceNumberArray is missing or has ${sequenceNumberArray?.length ?? 0} entries for ${bodies.length} messages`);
  }
  return bodies.map((body, i) => {
    const enqueued = new Date(String(enqueuedTimeUtcArray?.[i] ?? ''));
    const props = applicationPropertiesArray?.[i];
    return {
      body,
      messageId: String(messageIdArray?.[i] ?? `seq-${sequenceNumberArray[i]}`),
      sequenceNumber: toBigInt(sequenceNumberArray[i], i),
      enqueuedTimeUtc: Number.isNaN(enqueued.getTime()) ? new Date() : enqueued,
      deliveryCount: Number(deliveryCountArray?.[i] ?? 1) || 1,
      applicationProperties: typeof props === 'object' && props !== null ? (props as Record<string, unknown>) : {},
    };
  });
}
