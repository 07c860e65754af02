import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Decodes Avro container files with an independent implementation: Apache Avro's Python library
 * (Debian's python3-avro, on the system interpreter; .ci/run installs it).
 */
const SCRIPT = `
import json, sys
from avro.datafile import DataFileReader
from avro.io import DatumReader
out = []
for path in sys.argv[1:]:
    with open(path, 'rb') as f:
        reader = DataFileReader(f, DatumReader())
        meta = {k: (v.decode('utf-8') if isinstance(v, bytes) else v) for k, v in reader.meta.items()}
        records = [r for r in reader]
        reader.close()
    out.append({'meta': meta, 'records': records})
print(json.dumps(out))
`;

export interface PythonDecoded {
  meta: Record<string, string>;
  records: Record<string, unknown>[];
}

export function decodeWithPython(files: Buffer[]): PythonDecoded[] {
  const dir = mkdtempSync(join(tmpdir(), 'pyavro-'));
  try {
    const paths = files.map((bytes, i) => {
      const p = join(dir, `${i}.avro`);
      writeFileSync(p, bytes);
      return p;
    });
    const script = join(dir, 'decode.py');
    writeFileSync(script, SCRIPT);
    const stdout = execFileSync('/usr/bin/python3', [script, ...paths], { maxBuffer: 512 * 1024 * 1024 });
    return JSON.parse(stdout.toString('utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
