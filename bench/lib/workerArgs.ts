import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Every measured process runs with the Node.js arguments the Functions worker is deployed with
 * (`languageWorkers__node__arguments` in local.settings.sample.json, the one place they are set), so
 * the figures are those of the app as it runs. `BENCH_WORKER_ARGS="" npm run bench` measures with
 * Node's defaults instead (any other value replaces them).
 */
export function deployedWorkerArguments(): string[] {
  const override = process.env.BENCH_WORKER_ARGS;
  if (override !== undefined) return override.split(/\s+/).filter(Boolean);
  const sample = JSON.parse(readFileSync(join(__dirname, '..', '..', '..', 'local.settings.sample.json'), 'utf8')) as { Values: Record<string, string> };
  return (sample.Values.languageWorkers__node__arguments ?? '').split(/\s+/).filter(Boolean);
}

/** execArgv of a benchmark child process. */
export function childExecArgv(): string[] {
  return ['--expose-gc', '--disable-warning=ExperimentalWarning', ...deployedWorkerArguments()];
}
