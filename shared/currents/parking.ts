import type { ContainerClient } from '@azure/storage-blob';
import { existingCoverage, writeCovered, type Unit } from '../storage/coveredWrite';
import { hourLabel, padOffset } from './naming';

/**
 * The one seam for events that cannot reach a customer's storage (broken credentials, missing
 * container, refused request, invalid integration settings): they are parked in the app's own
 * storage, counted and reasoned, for the resume/drop lifecycle to pick up. Parked files use the
 * same exactly-once coverage scheme as customer files, so a redelivered batch parks nothing twice.
 */
export interface ParkedEvent {
  event_type: string;
  record: Record<string, unknown>;
}

export interface ParkRequest {
  integrationId: string;
  eventType: string;
  queuedHour: Date;
  partition: number;
  units: Unit<ParkedEvent>[];
  reason: string;
  priorAttempt: boolean;
}

export type ParkedSeries = Pick<ParkRequest, 'integrationId' | 'eventType' | 'queuedHour' | 'partition'>;

export interface ParkingSink {
  park(req: ParkRequest): Promise<{ events: number; files: string[] }>;
  /** Offsets of the series already parked (by an earlier delivery): they stay parked until resumed, never written besides. */
  parkedOffsets?(series: ParkedSeries): Promise<Set<bigint>>;
}

export class BlobParking implements ParkingSink {
  constructor(private readonly container: ContainerClient) {}

  async parkedOffsets(series: ParkedSeries): Promise<Set<bigint>> {
    const dir = `${series.integrationId}/event_type=${series.eventType}/date=${hourLabel(series.queuedHour)}/`;
    return existingCoverage(this.container, { dirPrefix: dir, isSameSeries: (n) => n.slice(dir.length).startsWith(`${series.partition}+`) });
  }

  async park(req: ParkRequest): Promise<{ events: number; files: string[] }> {
    const dir = `${req.integrationId}/event_type=${req.eventType}/date=${hourLabel(req.queuedHour)}/`;
    const series = `${req.partition}+`;
    const queuedHour = req.queuedHour.toISOString();
    const result = await writeCovered({
      container: this.container,
      units: req.units,
      maxItemsPerFile: 100_000,
      nameFor: (offset) => `${dir}${series}${padOffset(offset)}.jsonl`,
      encode: (_name, items) => ({
        body: Buffer.from(items.map((e) => JSON.stringify({ ...e, queuedHour, reason: req.reason })).join('\n') + '\n'),
        contentType: 'application/x-ndjson',
      }),
      priorAttempt: req.priorAttempt ? { dirPrefix: dir, isSameSeries: (n) => n.slice(dir.length).startsWith(series) } : undefined,
    });
    return { events: result.files.reduce((n, f) => n + f.items, 0) + result.alreadyPresentItems, files: result.files.map((f) => f.name) };
  }
}
