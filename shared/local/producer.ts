import type { DurableQueue } from './durableQueue';
import type { SchemaCatalog } from '../currents/schemas/catalog';
import { QUEUED_AT_PROPERTY } from '../currents/queueMessage';
import { demoEvent } from './demoEvents';

/**
 * The demo producer: messages of `eventsPerMessage` events for one integration, cycling through
 * every event type of the integration's Currents version, stamped with the time they were first queued.
 */
export class DemoProducer {
  private typeIndex = 0;
  sent = 0;

  constructor(
    private readonly queue: DurableQueue,
    private readonly catalog: SchemaCatalog,
    private readonly integrationId: string,
    private readonly eventsPerMessage: number,
    private readonly currentsVersion: number,
  ) {}

  /** Sends `events` events (in one queue transaction per call). */
  send(events: number): void {
    const schemas = this.catalog.availableIn(this.currentsVersion);
    const now = Date.now();
    const messages = [];
    for (let left = events; left > 0; left -= this.eventsPerMessage) {
      const batch = [];
      for (let i = 0; i < Math.min(left, this.eventsPerMessage); i++) {
        batch.push(demoEvent(schemas[this.typeIndex++ % schemas.length], now));
      }
      messages.push({
        body: JSON.stringify({ integrationId: this.integrationId, events: batch }),
        applicationProperties: { [QUEUED_AT_PROPERTY]: new Date(now).toISOString() },
      });
    }
    this.queue.send(messages);
    this.sent += events;
  }
}
