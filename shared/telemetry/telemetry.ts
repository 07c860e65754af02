import { redactSecrets } from '../secrets/redact';

/** Where counts and notable events go: Application Insights in Azure, the log locally and in tests. */
export interface Telemetry {
  count(name: string, value: number, properties?: Record<string, string>): void;
  event(name: string, properties: Record<string, string>): void;
}

export interface Log {
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

/** Every message leaves through here with connection-string secrets masked. */
export function safeLog(log: Log): Log {
  return {
    info: (m) => log.info(redactSecrets(m)),
    warn: (m) => log.warn(redactSecrets(m)),
    error: (m) => log.error(redactSecrets(m)),
  };
}

/** Keeps totals in memory (local runs print them; tests assert on them). */
export class CountingTelemetry implements Telemetry {
  readonly totals = new Map<string, number>();
  readonly events: { name: string; properties: Record<string, string> }[] = [];

  count(name: string, value: number): void {
    this.totals.set(name, (this.totals.get(name) ?? 0) + value);
  }

  event(name: string, properties: Record<string, string>): void {
    this.events.push({ name, properties });
  }
}

/**
 * Until the Application Insights metrics adapter lands: notable events go to the invocation log
 * (the Functions host forwards it to Application Insights as traces); counts ride in each batch's
 * summary line, so nothing is kept in memory.
 */
export function logTelemetry(log: Log): Telemetry {
  return {
    count: () => undefined,
    event: (name, properties) => log.warn(`${name} ${JSON.stringify(properties)}`),
  };
}
