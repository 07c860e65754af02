import { test, before, after, describe } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startAzurite, AZURITE_KEY, type RunningAzurite } from '../../shared/local/azurite';
import { scanText, describeHits, secretForms } from '../support/leakScan';
import { startEchoingEndpoint, accountSas, sigOf, type EchoingEndpoint } from './echoingEndpoint';

/**
 * `npm start` as a user runs it: stdout (the JSON summary), stderr (banner, progress, failures) and
 * the app.log it writes, scanned for secrets — the embedded-Azurite one-shot from the README, and runs
 * against destinations given by connection string (SAS, wrong key, a key that is not base64, a front
 * end that quotes the signed URL in its errors).
 */
const script = join(__dirname, '..', '..', 'scripts', 'local.js');

interface LocalRun {
  code: number;
  stdout: string;
  stderr: string;
  appLog: string;
}

function runLocal(args: string[], env: Record<string, string> = {}): Promise<LocalRun> {
  const dir = mkdtempSync(join(tmpdir(), 'currents-leak-local-'));
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [script, ...args, '--data-dir', dir],
      { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 },
      (err, stdout, stderr) => {
        const logFile = join(dir, 'app.log');
        const appLog = existsSync(logFile) ? readFileSync(logFile, 'utf8') : '';
        rmSync(dir, { recursive: true, force: true });
        resolve({ code: err ? Number((err as { code?: unknown }).code ?? 1) : 0, stdout, stderr, appLog });
      },
    );
  });
}

let azurite: RunningAzurite;
let echo: EchoingEndpoint;
let echoOnCreate: EchoingEndpoint;
let SAS: string;
const needles: string[] = [];

before(async () => {
  azurite = await startAzurite();
  echo = await startEchoingEndpoint({ blob: { status: 403, code: 'AuthenticationFailed' } });
  echoOnCreate = await startEchoingEndpoint({ container: { status: 403, code: 'AuthorizationFailure' } });
  SAS = accountSas(AZURITE_KEY);
  for (const s of [AZURITE_KEY, sigOf(SAS), SAS]) needles.push(...secretForms(s));
});
after(async () => {
  await Promise.all([echo?.close(), echoOnCreate?.close()]);
  await azurite?.close();
});

function assertClean(label: string, text: string): void {
  const hits = scanText(label, text, needles);
  assert.equal(hits.length, 0, `secret material in ${label}:\n${describeHits(hits)}`);
}

describe('README one-shot (embedded Azurite, in memory)', () => {
  let run: LocalRun;
  before(async () => {
    run = await runLocal(['--events', '2000', '--in-memory']);
  });
  test('the run writes every event', () => {
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).events.written, 2000);
    assert.ok(run.appLog.length > 0, 'app.log was written');
  });
  test('stdout, stderr and app.log carry no key', () => {
    assertClean('stdout', run.stdout);
    assertClean('stderr', run.stderr);
    assertClean('app.log', run.appLog);
  });
});

describe('a valid SAS destination connection string', () => {
  let run: LocalRun;
  before(async () => {
    run = await runLocal(['--events', '500', '--storage-connection-string', azurite.connectionString], {
      LOCAL_DESTINATION_CONNECTION_STRING: `BlobEndpoint=${azurite.blobEndpoint};SharedAccessSignature=${SAS}`,
    });
  });
  test('the run writes every event through the SAS', () => {
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).events.written, 500);
  });
  test('app.log carries no signature', () => {
    assertClean('app.log', run.appLog);
  });
  test('stdout (summary) and stderr (banner) carry no signature', () => {
    assertClean('stdout', run.stdout);
    assertClean('stderr', run.stderr);
  });
});

describe('a destination whose storage front end quotes the signed URL in its 403s', () => {
  let run: LocalRun;
  before(async () => {
    run = await runLocal(['--events', '1000', '--storage-connection-string', azurite.connectionString], {
      LOCAL_DESTINATION_CONNECTION_STRING: `BlobEndpoint=${echo.blobEndpoint};SharedAccessSignature=${SAS}`,
    });
  });
  test('the events are parked, and the park warnings in app.log quote the URL with the signature masked', () => {
    assert.equal(run.code, 0, run.stderr);
    assert.equal(JSON.parse(run.stdout).events.parked, 1000);
    assert.ok(echo.requests.some((q) => q.includes(`sig=${sigOf(SAS)}`)), 'the signature went over the wire');
    assert.match(run.appLog, /parked \d+ .* \(auth: 403 AuthenticationFailed .*sig=\[REDACTED\]/);
    assertClean('app.log', run.appLog);
  });
  test('stdout and stderr carry no signature', () => {
    assertClean('stdout', run.stdout);
    assertClean('stderr', run.stderr);
  });
});

describe('start-up failures against a broken destination: the error on stderr names the problem, not the secret', () => {
  const cases: [string, () => string, RegExp][] = [
    ['a wrong account key', () => azurite.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.alloc(64, 3).toString('base64')}`), /Server failed to authenticate/],
    ['an account key that is not base64', () => azurite.connectionString.replace(/AccountKey=[^;]+/, 'AccountKey=not-base64'), /Server failed to authenticate/],
    ['a front end quoting the signed URL', () => `BlobEndpoint=${echoOnCreate.blobEndpoint};SharedAccessSignature=${SAS}`, /Request refused by the storage front end: PUT .*sig=\[REDACTED\]/],
  ];
  for (const [label, connectionString, expected] of cases) {
    test(label, async () => {
      const run = await runLocal(['--events', '10', '--storage-connection-string', azurite.connectionString], { LOCAL_DESTINATION_CONNECTION_STRING: connectionString() });
      assert.equal(run.code, 1);
      assert.match(run.stderr, /local run failed: /);
      assert.match(run.stderr, expected);
      assert.ok(!`${run.stdout}${run.stderr}${run.appLog}`.includes('not-base64'));
      assertClean('stdout', run.stdout);
      assertClean('stderr', run.stderr);
      assertClean('app.log', run.appLog);
    });
  }
});
