/**
 * Scans captured output (e.g. `npm test 2>&1 | tee test-output.log`) for credential material.
 *
 *   node dist/test/leaks/scanOutput.js test-output.log [more files…]
 *
 * Exit 0: nothing found. Exit 1: hits, listed on stderr as `file:line: kind` — the line numbers and
 * the kind of secret, never the secret. Exit 2: usage or read error.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { scanLine } from '../support/leakScan';

export async function scanFiles(files: readonly string[], report: (line: string) => void): Promise<{ lines: number; hits: number }> {
  let lines = 0;
  let hits = 0;
  for (const file of files) {
    const input = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
    let n = 0;
    for await (const line of input) {
      n += 1;
      for (const kind of scanLine(line)) {
        hits += 1;
        report(`${file}:${n}: ${kind}`);
      }
    }
    lines += n;
  }
  return { lines, hits };
}

async function main(argv: string[]): Promise<number> {
  const files = argv.filter((a) => a !== '--');
  if (files.length === 0 || files.includes('--help') || files.includes('-h')) {
    process.stderr.write('usage: node dist/test/leaks/scanOutput.js <file> [file…]\n');
    return 2;
  }
  let result;
  try {
    result = await scanFiles(files, (line) => process.stderr.write(`${line}\n`));
  } catch (err) {
    process.stderr.write(`leak scan: cannot read input (${(err as NodeJS.ErrnoException).code ?? 'error'})\n`);
    return 2;
  }
  if (result.hits > 0) {
    process.stderr.write(`leak scan: ${result.hits} possible secret(s) in ${files.join(', ')} — lines listed above, values not shown\n`);
    return 1;
  }
  process.stdout.write(`leak scan: no secrets found in ${files.join(', ')} (${result.lines} lines)\n`);
  return 0;
}

if (require.main === module) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
