import { InvocationContext, type LogHandler } from '@azure/functions';
import { MessageLockLostError, type DurableQueue, type ReceivedMessage } from './durableQueue';

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
  /** Messages whose lock was lost before they were settled (they are delivered again). */
  lockLost?: number;
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
  // Like the Functions host: renew the locks while the invocation runs (at half the lock duration).
  const lockMs = Math.max(100, batch[0].lockedUntilUtc.getTime() - Date.now());
  const renewal = setInterval(() => {
    try {
      queue.renewLocks(tokens);
    } catch {
      // a busy queue file: the next tick tries again
    }
  }, lockMs / 2);
  // A lost lock is not the consumer's end: the host logs it and the message is delivered again.
  const settle = (action: () => void): number => {
    try {
      action();
      return 0;
    } catch (err) {
      if (!(err instanceof MessageLockLostError)) throw err;
      stats.lockLost = (stats.lockLost ?? 0) + err.lost.length;
      stats.failures.push(err.message.slice(0, 300));
      return err.lost.length;
    }
  };
  let failed: unknown;
  try {
    await handler(batch.map(hostBody), triggerContext(batch, options.functionName, options.logHandler));
  } catch (err) {
    failed = err ?? new Error('handler failed');
  } finally {
    clearInterval(renewal);
  }
  if (failed === undefined) {
    stats.completed += batch.length - settle(() => queue.complete(tokens));
  } else {
    stats.abandoned += batch.length - settle(() => queue.abandon(tokens));
    stats.failures.push((failed as Error).message);
  }
  while (stats.failures.length > 20) stats.failures.shift();
  return batch.length;
}
