import { askCounters, diffCounts } from './ipc';
import { collectGarbage, machineBusyMicros, peakRssBytes, resetPeakRss } from './memory';
import type { Timed } from './series';

/**
 * One measured run in a benchmark child: from a collected heap (each run starts without the previous
 * run's garbage) with the RSS high-water mark reset; wall time, this process's CPU, Azurite's CPU
 * (the parent's) and requests, other processes' CPU, and the peak RSS of the run.
 */
export async function timedRun(run: () => Promise<{ files: number; bytes: number }>): Promise<{ t: Timed; peakRss: number }> {
  collectGarbage();
  const before = await askCounters();
  resetPeakRss();
  const busy0 = machineBusyMicros();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const { files, bytes } = await run();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const busy1 = machineBusyMicros();
  const peakRss = peakRssBytes();
  const after = await askCounters();
  const cpuMicros = cpu.user + cpu.system;
  const azuriteCpuMicros = after.azuriteCpuMicros - before.azuriteCpuMicros;
  const foreignCpuMicros = busy0 !== undefined && busy1 !== undefined ? Math.max(0, busy1 - busy0 - cpuMicros - azuriteCpuMicros) : 0;
  return { t: { ms, cpuMicros, azuriteCpuMicros, requests: diffCounts(after.requests, before.requests), files, bytes, foreignCpuMicros }, peakRss };
}
