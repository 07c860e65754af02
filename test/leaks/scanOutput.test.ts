import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { scanLine } from '../support/leakScan';

const run = promisify(execFile);
const script = join(__dirname, 'scanOutput.js');
const KEY = Buffer.alloc(64, 0x5a).toString('base64');
const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';
const SIG = 'cWMzeZn9lweGUWsd%2B5sbzJdqHazTn84ktdx6W2M6o4c%3D';

async function scan(text: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'leakscan-'));
  const file = join(dir, 'output.log');
  writeFileSync(file, text);
  try {
    const { stdout, stderr } = await run(process.execPath, [script, file]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('scanOutput exits 1 naming the line numbers and kinds of secret, never the secret itself', async () => {
  const lines = [
    'ok 1 - something harmless',
    `# failed with DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${KEY};EndpointSuffix=core.windows.net`,
    'ok 2 - another',
    `# GET https://acme.blob.core.windows.net/c/b.avro?sv=2022-11-02&sp=r&sig=${SIG}`,
    `# BlobEndpoint=https://acme.blob.core.windows.net/;SharedAccessSignature=sv=2022-11-02&sig=${SIG}`,
    '# Authorization: Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.payload.signature',
    `# bare dev key ${AZURITE_KEY}`,
    '# AccountKey=not-base64 in a connection string',
  ];
  const { code, stderr, stdout } = await scan(lines.join('\n') + '\n');
  assert.equal(code, 1);
  assert.match(stderr, /output\.log:2: storage account key/);
  assert.match(stderr, /output\.log:4: SAS signature/);
  assert.match(stderr, /output\.log:5: SAS connection string/);
  assert.match(stderr, /output\.log:6: bearer token/);
  assert.match(stderr, /output\.log:7: Azurite development key/);
  assert.match(stderr, /output\.log:8: storage account key/);
  assert.doesNotMatch(stderr, /output\.log:(1|3):/);
  for (const secret of [KEY, SIG, AZURITE_KEY, 'not-base64', 'eyJ0eXAi']) {
    assert.ok(!stderr.includes(secret) && !stdout.includes(secret), 'the scan report must not repeat what it found');
  }
});

test('scanOutput passes redacted output and ordinary test-runner prose', async () => {
  const text = [
    'TAP version 13',
    '# Subtest: masks sig= in SAS URLs and bare SAS tokens, leaving other parameters',
    'ok 3 - masks AccountKey but keeps account name and endpoints',
    'ok 4 - masks bearer tokens and leaves ordinary text alone',
    'warn integration x: parked 2 events (auth: 403 AuthenticationFailed PUT /c/b.avro?sv=2022&sig=[REDACTED])',
    'DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=[REDACTED];BlobEndpoint=http://127.0.0.1:1/x;',
    'BlobEndpoint=https://a.blob.core.windows.net/;SharedAccessSignature=[REDACTED]',
    'Authorization: Bearer [REDACTED]',
    'design=ok&signal=1 email_address sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08',
  ].join('\n');
  const { code, stdout } = await scan(text);
  assert.equal(code, 0);
  assert.match(stdout, /no secrets found/);
});

test('scanOutput: a missing file is a usage error (exit 2), not a pass', async () => {
  const result = await run(process.execPath, [script, join(tmpdir(), 'no-such-leak-scan-input.log')]).then(
    () => ({ code: 0 }),
    (err: { code: number }) => ({ code: err.code }),
  );
  assert.equal(result.code, 2);
});

test('known secret strings are found even without a telltale prefix', () => {
  assert.deepEqual(scanLine(`value ${KEY} here`, [KEY]), ['known secret #1']);
  assert.deepEqual(scanLine('value here', [KEY]), []);
});
