import { addCounts, emptyCounts, type RequestCounts } from './ipc';
import { median, madPct } from './stats';

/** One timed run of something that writes a batch. */
export interface Timed {
  ms: number;
  /** CPU time of this (measured) process during the run, µs. */
  cpuMicros: number;
  /** CPU time of the parent (Azurite) during the run, µs. */
  azuriteCpuMicros: number;
  requests: RequestCounts;
  files: number;
  bytes: number;
  /** CPU time other processes on the machine used during the run, µs (0 when unknown). */
  foreignCpuMicros: number;
}

export interface Series {
  runs: number;
  events: number;
  medianMs: number;
  eventsPerSec: number;
  spreadPct: number;
  cpuMicrosPerEvent: number;
  azuriteCpuMicrosPerEvent: number;
  /** Median CPU other processes used during a run, in cores (CPU time / wall time): > 0.1 means a busy neighbour. */
  foreignCores: number;
  files: number;
  bytes: number;
  requestsPerBatch: RequestCounts;
  allMs: number[];
}

/** Median and friends over the timed runs of one arm. */
export function series(runs: Timed[], events: number): Series {
  const ms = runs.map((r) => r.ms);
  const med = median(ms);
  const total = runs.reduce((t, r) => addCounts(t, r.requests), emptyCounts());
  const perBatch = (x: number) => Math.round((x / runs.length) * 100) / 100;
  const scale = (o: Record<string, number>) => Object.fromEntries(Object.entries(o).map(([k, v]) => [k, perBatch(v)]));
  return {
    runs: runs.length,
    events,
    medianMs: med,
    eventsPerSec: (events / med) * 1000,
    spreadPct: madPct(ms),
    cpuMicrosPerEvent: median(runs.map((r) => r.cpuMicros)) / events,
    azuriteCpuMicrosPerEvent: median(runs.map((r) => r.azuriteCpuMicros)) / events,
    foreignCores: median(runs.map((r) => r.foreignCpuMicros / (r.ms * 1000))),
    files: runs[0]?.files ?? 0,
    bytes: runs[0]?.bytes ?? 0,
    requestsPerBatch: { total: perBatch(total.total), byMethod: scale(total.byMethod), byOperation: scale(total.byOperation) },
    allMs: ms.map((x) => Math.round(x * 10) / 10),
  };
}

