/**
 * Parent ⇄ child messages. The parent runs Azurite and counts every request that reaches it; the
 * child (the process being measured) asks for a counter snapshot around each timed phase.
 */
export interface RequestCounts {
  total: number;
  byMethod: Record<string, number>;
  /** Blob REST operation names: PutBlob, GetBlob, GetBlobProperties, ListBlobs, DeleteBlob, CreateContainer… */
  byOperation: Record<string, number>;
}

export interface CounterSnapshot {
  requests: RequestCounts;
  /** CPU time of the parent process (= Azurite, plus the negligible orchestration), µs. */
  azuriteCpuMicros: number;
}

export type ChildToParent =
  | { t: 'ask'; id: number; q: 'counters' }
  | { t: 'result'; data: unknown }
  | { t: 'log'; line: string }
  // Figure 1 arms: set up and warm, then one timed run per 'run'.
  | { t: 'ready' }
  | { t: 'done'; timings: import('./series').Timed[] };
/** run: `warm` untimed runs, then `count` timed runs, back to back. */
export type ParentToChild = { t: 'reply'; id: number; data: CounterSnapshot } | { t: 'run'; warm: number; count: number } | { t: 'finish' };

export function diffCounts(after: RequestCounts, before: RequestCounts): RequestCounts {
  const sub = (a: Record<string, number>, b: Record<string, number>) => {
    const out: Record<string, number> = {};
    for (const k of Object.keys(a)) if (a[k] - (b[k] ?? 0) !== 0) out[k] = a[k] - (b[k] ?? 0);
    return out;
  };
  return { total: after.total - before.total, byMethod: sub(after.byMethod, before.byMethod), byOperation: sub(after.byOperation, before.byOperation) };
}

export function addCounts(a: RequestCounts, b: RequestCounts): RequestCounts {
  const add = (x: Record<string, number>, y: Record<string, number>) => {
    const out = { ...x };
    for (const [k, v] of Object.entries(y)) out[k] = (out[k] ?? 0) + v;
    return out;
  };
  return { total: a.total + b.total, byMethod: add(a.byMethod, b.byMethod), byOperation: add(a.byOperation, b.byOperation) };
}

export const emptyCounts = (): RequestCounts => ({ total: 0, byMethod: {}, byOperation: {} });

/** Child side: ask the parent for a snapshot. */
let nextId = 0;
const waiting = new Map<number, (s: CounterSnapshot) => void>();
let listening = false;

export function askCounters(): Promise<CounterSnapshot> {
  if (!process.send) throw new Error('bench worker must be started by bench/run.js (needs an IPC channel)');
  if (!listening) {
    listening = true;
    process.on('message', (m: ParentToChild) => {
      if (m?.t === 'reply') {
        waiting.get(m.id)?.(m.data);
        waiting.delete(m.id);
      }
    });
  }
  return new Promise((resolve) => {
    const id = nextId++;
    waiting.set(id, resolve);
    process.send!({ t: 'ask', id, q: 'counters' } satisfies ChildToParent);
  });
}

export function sendResult(data: unknown): Promise<void> {
  return new Promise((resolve, reject) => process.send!({ t: 'result', data } satisfies ChildToParent, (err: Error | null) => (err ? reject(err) : resolve())));
}

export function childLog(line: string): void {
  if (process.send) process.send({ t: 'log', line } satisfies ChildToParent);
  else process.stderr.write(line + '\n');
}
