import { InvocationContext, type LogHandler } from '@azure/functions';
import type { DurableQueue, ReceivedMessage } from './durableQueue';

/**
 * Plays the Functions host for a Service Bus trigger with `cardinality: 'many'`: receives a batch
 * under peek-lock, calls the handler with bodies + `*Array` trigger metadata, completes the batch
 * when the handler returns and abandons it when it throws (dead-letter after max deliveries).
 */
export type BatchHandler = (bodies: unknown[], context: InvocationContext) => Promise<void>;

export interface ConsumerStats {
  batches: number;
  completed: number;
  abandoned: number;
  failures: string[];
}

/** The host hands JSON bodies over already parsed, anything else as a string. */
function hostBody(message: ReceivedMessage): unknown {
  const text = message.body.toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export function triggerContext(batch: ReceivedMessage[], functionName: string, logHandler?: LogHandler): InvocationContext {
  return new InvocationContext({
    functionName,
    invocationId: `local-${batch[0]?.sequenceNumber ?? 0}-${Date.now()}`,
    logHandler,
    triggerMetadata: {
      messageIdArray: batch.map((m) => m.messageId),
      sequenceNumberArray: batch.map((m) => m.sequenceNumber),
      enqueuedTimeUtcArray: batch.map((m) => m.enqueuedTimeUtc.toISOString()),
      deliveryCountArray: batch.map((m) => m.deliveryCount),
      applicationPropertiesArray: batch.map((m) => m.applicationProperties),
    },
  });
}

export async function consumeOnce(
  queue: DurableQueue,
  handler: BatchHandler,
  options: { maxMessages: number; maxWaitMs: number; functionName: string; signal?: AbortSignal; logHandler?: LogHandler },
  stats: ConsumerStats,
): Promise<number> {
  const batch = await queue.receiveBatchWait(options.maxMessages, { maxWaitMs: options.maxWaitMs, signal: options.signal });
  if (batch.length === 0) return 0;
  stats.batches += 1;
  const tokens = batch.map((m) => m.lockToken);
  try {
    await handler(batch.map(hostBody), triggerContext(batch, options.functionName, options.logHandler));
    queue.complete(tokens);
    stats.completed += batch.length;
  } catch (err) {
    queue.abandon(tokens);
    stats.abandoned += batch.length;
    stats.failures.push((err as Error).message);
    if (stats.failures.length > 20) stats.failures.shift();
  }
  return batch.length;
}
