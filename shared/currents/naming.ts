/**
 * Braze Currents blob names (container-relative):
 * <prefix>/dataexport.<cluster>.AzureBlob.integration.<id>/event_type=<type>/date=<YYYY-MM-DD-HH>/
 *   version=<n>/<environment>/dataexport.<cluster>.AzureBlob.integration.<id>+<partition>+<offset10>.avro
 */
export interface FileNameParts {
  prefix: string;
  cluster: string;
  environment: string;
  integrationId: string;
  eventType: string;
  /** Start of the UTC hour the events were first queued. */
  queuedHour: Date;
  version: number;
  partition: number;
  offset: bigint | number;
}

/** YYYY-MM-DD-HH in UTC: the hour the events were queued, not the events' own time. */
export function hourLabel(hour: Date): string {
  return hour.toISOString().slice(0, 13).replace('T', '-');
}

export function startOfHour(time: Date): Date {
  return new Date(Math.floor(time.getTime() / 3_600_000) * 3_600_000);
}

/** Kafka Connect convention: offsets zero-padded to at least 10 digits so names sort by offset. */
export function padOffset(offset: bigint | number): string {
  return offset.toString().padStart(10, '0');
}

export function connectorName(cluster: string, integrationId: string): string {
  return `dataexport.${cluster}.AzureBlob.integration.${integrationId}`;
}

export function currentsBlobName(p: FileNameParts): string {
  const connector = connectorName(p.cluster, p.integrationId);
  return [
    p.prefix,
    connector,
    `event_type=${p.eventType}`,
    `date=${hourLabel(p.queuedHour)}`,
    `version=${p.version}`,
    p.environment,
    `${connector}+${p.partition}+${padOffset(p.offset)}.avro`,
  ].join('/');
}
