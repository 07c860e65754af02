import { readFileSync, writeFileSync } from 'node:fs';

/**
 * Peak resident memory of this process over a phase. Linux keeps a high-water mark (VmHWM, which is
 * also what getrusage's maxRSS reports); writing "5" to /proc/self/clear_refs resets it to the current
 * RSS, so the peak of one phase can be read without the noise of what came before (input generation).
 * Falls back to process.resourceUsage().maxRSS (lifetime peak) where /proc is not available.
 */
let resettable: boolean | undefined;

export function resetPeakRss(): boolean {
  if (resettable === false) return false;
  try {
    writeFileSync('/proc/self/clear_refs', '5');
    resettable = true;
  } catch {
    resettable = false;
  }
  return resettable;
}

/** Peak RSS in bytes since the last reset (or since start). */
export function peakRssBytes(): number {
  try {
    const m = /VmHWM:\s+(\d+)\s*kB/.exec(readFileSync('/proc/self/status', 'utf8'));
    if (m) return Number(m[1]) * 1024;
  } catch {
    /* fall through */
  }
  return process.resourceUsage().maxRSS * 1024;
}

export function collectGarbage(): void {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  gc();
  gc();
}

/**
 * Samples V8's used heap every few ms while a phase runs (heap has no kernel high-water mark).
 * The pipeline awaits uploads constantly, so the sampler gets to run; purely synchronous stretches
 * are covered by a final sample.
 */
export class HeapSampler {
  private timer?: NodeJS.Timeout;
  peakHeapUsed = 0;
  peakExternal = 0;

  start(intervalMs = 5): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  sample(): void {
    const m = process.memoryUsage();
    if (m.heapUsed > this.peakHeapUsed) this.peakHeapUsed = m.heapUsed;
    // `external` already includes `arrayBuffers` (every Buffer's memory): do not add them.
    if (m.external > this.peakExternal) this.peakExternal = m.external;
  }

  stop(): void {
    this.sample();
    clearInterval(this.timer);
  }
}

/**
 * CPU time the whole machine spent busy (all cores), µs, from /proc/stat. Compared with the CPU time of
 * the bench's own two processes over a timed run, it tells how much *other* work ran meanwhile — the
 * benchmark shares the machine, and a busy neighbour skews events/s.
 */
export function machineBusyMicros(): number | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n', 1)[0];
    const [, ...fields] = line.trim().split(/\s+/);
    const n = fields.map(Number);
    const idle = (n[3] ?? 0) + (n[4] ?? 0);
    const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
    return ((total - idle) * 1e6) / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}
