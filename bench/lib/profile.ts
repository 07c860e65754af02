import { Session } from 'node:inspector/promises';
import { relative } from 'node:path';

/**
 * CPU profiles of just the timed pipeline runs (V8's sampling profiler through the inspector, the same
 * profiler `node --cpu-prof` drives, but started and stopped around the phase of interest so setup and
 * input generation stay out). The .cpuprofile files open in Chrome DevTools / VS Code; `summarize`
 * gives the top frames by self time and by inclusive time.
 */
export interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
export interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export class Profiler {
  private readonly session = new Session();

  async start(samplingIntervalMicros = 200): Promise<void> {
    this.session.connect();
    await this.session.post('Profiler.enable');
    await this.session.post('Profiler.setSamplingInterval', { interval: samplingIntervalMicros });
    await this.session.post('Profiler.start');
  }

  async stop(): Promise<CpuProfile> {
    const { profile } = (await this.session.post('Profiler.stop')) as unknown as { profile: CpuProfile };
    await this.session.post('Profiler.disable');
    this.session.disconnect();
    return profile;
  }
}

export interface FrameCost {
  frame: string;
  ms: number;
  pct: number;
}

export interface ProfileSummary {
  totalMs: number;
  topSelf: FrameCost[];
  topInclusive: FrameCost[];
  /** Self time grouped by where the code lives: our modules, avsc, the Azure SDK, node internals, GC… */
  byArea: FrameCost[];
}

function frameName(node: CpuProfileNode, root: string): string {
  const { functionName, url, lineNumber } = node.callFrame;
  const fn = functionName || '(anonymous)';
  if (!url) return fn;
  let file = url.replace(/^file:\/\//, '');
  if (file.startsWith(root)) file = relative(root, file);
  file = file.replace(/^.*node_modules\//, '');
  return `${fn} ${file}:${lineNumber + 1}`;
}

function areaOf(node: CpuProfileNode): string {
  const { url, functionName } = node.callFrame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'garbage collector';
    if (functionName === '(program)' || functionName === '(idle)') return `${functionName.slice(1, -1)} (native / idle)`;
    return 'native builtins';
  }
  const m = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (m) return m[1];
  if (url.startsWith('node:')) return 'node internals';
  const s = /\/dist\/((?:shared|bench|functions)\/[^/]+(?:\/[^/]+)?)/.exec(url);
  if (s) return s[1].replace(/\.js$/, '');
  return url;
}

export function summarize(profile: CpuProfile, root: string, top = 25): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  // Self time per node from samples × deltas (more exact than hitCount × mean interval).
  const selfMicros = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const dt = deltas[i + 1] ?? 0; // the delta *after* a sample is the time it stood for
    selfMicros.set(samples[i], (selfMicros.get(samples[i]) ?? 0) + Math.max(0, dt));
  }
  let total = 0;
  const self = new Map<string, number>();
  const inclusive = new Map<string, number>();
  const area = new Map<string, number>();
  for (const [id, us] of selfMicros) {
    const node = byId.get(id)!;
    total += us;
    const name = frameName(node, root);
    self.set(name, (self.get(name) ?? 0) + us);
    const a = areaOf(node);
    area.set(a, (area.get(a) ?? 0) + us);
    // Inclusive: charge every distinct frame on the stack once.
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const f = frameName(byId.get(cur)!, root);
      if (seen.has(f)) continue;
      seen.add(f);
      inclusive.set(f, (inclusive.get(f) ?? 0) + us);
    }
  }
  const list = (m: Map<string, number>, n: number, skip?: (f: string) => boolean) =>
    [...m.entries()]
      .filter(([f]) => !skip?.(f))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([frame, us]) => ({ frame, ms: Math.round(us / 100) / 10, pct: Math.round((us / total) * 1000) / 10 }));
  const boring = (f: string) => f.startsWith('(root)') || f.startsWith('(program)') || f.startsWith('(idle)');
  return { totalMs: Math.round(total / 1000), topSelf: list(self, top), topInclusive: list(inclusive, top, boring), byArea: list(area, 20) };
}
