import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Reads export files with independent implementations: Python's zipfile, gzip, csv and json modules
 * (the system interpreter), so a bug shared by our writer and a Node reader cannot hide.
 */
const SCRIPT = `
import csv, gzip, io, json, sys, zipfile
kind, path, delimiter = sys.argv[1], sys.argv[2], sys.argv[3]
raw = open(path, 'rb').read()
def parse(data, name):
    text = data.decode('utf-8')
    if kind.endswith('csv'):
        return {'name': name, 'rows': list(csv.reader(io.StringIO(text, newline=''), delimiter=delimiter, strict=True))}
    return {'name': name, 'lines': [json.loads(l) for l in text.split('\\n') if l != '']}
if kind.startswith('zip'):
    z = zipfile.ZipFile(io.BytesIO(raw))
    bad = z.testzip()
    if bad is not None: raise SystemExit('bad CRC in ' + bad)
    out = [parse(z.read(i.filename), i.filename) for i in z.infolist()]
elif kind.startswith('gz'):
    out = [parse(gzip.decompress(raw), None)]
else:
    out = [parse(raw, None)]
print(json.dumps(out))
`;

export interface ReadEntry {
  name: string | null;
  rows?: string[][];
  lines?: Record<string, unknown>[];
}

export function readWithPython(kind: 'zip-csv' | 'gz-csv' | 'csv' | 'zip-lines' | 'gz-lines', file: Buffer, delimiter = ','): ReadEntry[] {
  const dir = mkdtempSync(join(tmpdir(), 'export-read-'));
  try {
    const path = join(dir, 'file');
    writeFileSync(path, file);
    const script = join(dir, 'read.py');
    writeFileSync(script, SCRIPT);
    return JSON.parse(execFileSync('/usr/bin/python3', [script, kind, path, delimiter], { maxBuffer: 256 * 1024 * 1024 }).toString('utf8'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
