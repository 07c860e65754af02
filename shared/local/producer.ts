import type { DurableQueue } from './durableQueue';
import type { EventSchema } from '../currents/schemas/catalog';
import { QUEUED_AT_PROPERTY } from '../currents/queueMessage';
import { demoEvent } from './demoEvents';

/**
 * The demo producer: messages of `eventsPerMessage` events for one integration, cycling through the
 * given event types, stamped with the time they were first queued. Tests pass `sentIds` to learn
 * exactly which event ids went into the queue.
 */
export class DemoProducer {
  private typeIndex = 0;
  sent = 0;

  constructor(
    private readonly queue: DurableQueue,
    private readonly integrationId: string,
    private readonly eventsPerMessage: number,
    private readonly types: readonly EventSchema[],
    private readonly sentIds?: Set<string>,
  ) {}

  /** Sends `events` events in one queue transaction; returns the number of messages. */
  send(events: number): number {
    const schemas = this.types;
    const now = Date.now();
    const messages = [];
    for (let left = events; left > 0; left -= this.eventsPerMessage) {
      const batch = [];
      for (let i = 0; i < Math.min(left, this.eventsPerMessage); i++) {
        const event = demoEvent(schemas[this.typeIndex++ % schemas.length], now);
        this.sentIds?.add(event.id as string);
        batch.push(event);
      }
      messages.push({
        body: JSON.stringify({ integrationId: this.integrationId, events: batch }),
        applicationProperties: { [QUEUED_AT_PROPERTY]: new Date(now).toISOString() },
      });
    }
    this.queue.send(messages);
    this.sent += events;
    return messages.length;
  }
}
