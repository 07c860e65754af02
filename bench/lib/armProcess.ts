import { fork } from 'node:child_process';
import type { RequestCounter } from './azuriteCounter';
import type { ChildToParent, ParentToChild } from './ipc';
import type { Timed } from './series';
import { childExecArgv } from './workerArgs';

/**
 * A contender in its own process (`script` with BENCH_CONFIG = `config`): set up and warmed on start,
 * then `run(warm, count)` asks for untimed and timed runs, `finish()` for its result. Each contender
 * runs apart because code shared in one process gets optimised for one caller and de-optimised by
 * another (see docs/benchmarks.md). The parent answers the child's counter requests (Azurite runs here).
 */
export interface ArmProcess<R> {
  ready: Promise<void>;
  run(warm: number, count: number): Promise<Timed[]>;
  finish(): Promise<R>;
}

export function startArmProcess<R>(script: string, config: unknown, counter: RequestCounter, label: string): ArmProcess<R> {
  const child = fork(script, [], {
    execArgv: childExecArgv(),
    env: { ...process.env, BENCH_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let onReady!: () => void;
  let onDone: ((t: Timed[]) => void) | undefined;
  let onResult: ((r: R) => void) | undefined;
  let failed: ((err: Error) => void) | undefined;
  const ready = new Promise<void>((resolveReady, reject) => {
    onReady = resolveReady;
    failed = reject;
  });
  child.on('message', (m: ChildToParent) => {
    if (m.t === 'ask') {
      const cpu = process.cpuUsage();
      child.send({ t: 'reply', id: m.id, data: { requests: counter.snapshot(), azuriteCpuMicros: cpu.user + cpu.system } } satisfies ParentToChild);
    } else if (m.t === 'ready') onReady();
    else if (m.t === 'done') onDone?.(m.timings);
    else if (m.t === 'result') onResult?.(m.data as R);
    else if (m.t === 'log') process.stderr.write(`${m.line}\n`);
  });
  child.on('exit', (code) => {
    if (code !== 0) failed?.(new Error(`${label} exited with code ${code}`));
  });
  const expect = <T>(set: (f: (v: T) => void) => void) =>
    new Promise<T>((resolveValue, reject) => {
      failed = reject;
      set(resolveValue);
    });
  return {
    ready,
    run(warm, count) {
      const p = expect<Timed[]>((f) => (onDone = f));
      child.send({ t: 'run', warm, count } satisfies ParentToChild);
      return p;
    },
    finish() {
      const p = expect<R>((f) => (onResult = f));
      child.send({ t: 'finish' } satisfies ParentToChild);
      return p;
    },
  };
}
