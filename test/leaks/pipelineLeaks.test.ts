import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { InvocationContext } from '@azure/functions';
import { currentsEvents } from '../../functions/currentsEvents';
import { processCurrentsBatch, RetryableBatchError, type BatchReport } from '../../shared/currents/pipeline';
import { currentsCatalog } from '../../shared/currents/schemas/catalog';
import { demoEvent } from '../../shared/local/demoEvents';
import { AZURITE_KEY } from '../../shared/local/azurite';
import { startTestStack, messagesFor, listBlobs, readBlob, type TestStack } from '../support/stack';
import { scanText, describeHits, secretForms, toText, type LeakHit } from '../support/leakScan';
import { startEchoingEndpoint, accountSas, sigOf, type EchoingEndpoint } from './echoingEndpoint';

/**
 * Drives the pipeline into every credential-related failure we can provoke for real (wrong key, a key
 * that is not base64, an unparseable connection string, a wrong SAS, a SAS to a missing container,
 * closed ports, and storage front ends that quote the signed request URL in their errors), then scans
 * everything a human or telemetry could see: the log, telemetry events, quarantine and parked blobs
 * (content and metadata), batch reports, and the errors thrown (message, stack, util.inspect).
 */
let stack: TestStack;
let echo403: EchoingEndpoint;
let echo503: EchoingEndpoint;
let echo400: EchoingEndpoint;
const catalog = currentsCatalog();
const emailSend = () => catalog.get('users.messages.email.Send')!;

const WRONG_KEY = Buffer.alloc(64, 7).toString('base64');
let SAS: string;
let WRONG_SAS: string;
/** Every secret used below, in every form it could take in text. */
const needles: string[] = [];

before(async () => {
  stack = await startTestStack();
  echo403 = await startEchoingEndpoint({ blob: { status: 403, code: 'AuthenticationFailed' } });
  echo503 = await startEchoingEndpoint({ blob: { status: 503, code: 'ServerBusy' } });
  echo400 = await startEchoingEndpoint({ blob: { status: 400, code: 'InvalidQueryParameterValue' } });
  SAS = accountSas(AZURITE_KEY);
  WRONG_SAS = SAS.replace(/sig=[^&]+/, `sig=${encodeURIComponent(Buffer.alloc(32, 9).toString('base64'))}`);
  for (const s of [AZURITE_KEY, WRONG_KEY, sigOf(SAS), sigOf(WRONG_SAS), SAS, WRONG_SAS]) needles.push(...secretForms(s));
});
after(async () => {
  await Promise.all([echo403, echo503, echo400].map((e) => e?.close()));
  await stack.close();
});

const withKey = (key: string, endpoint = stack.azurite.blobEndpoint) =>
  `DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=${key};BlobEndpoint=${endpoint};`;
const withSas = (sas: string, endpoint = stack.azurite.blobEndpoint) => `BlobEndpoint=${endpoint};SharedAccessSignature=${sas}`;

interface Seen {
  label: string;
  texts: { source: string; text: string }[];
}
const everything: Seen[] = [];

function scanAll(seen: Seen): LeakHit[] {
  return seen.texts.flatMap((t) => scanText(`${seen.label}/${t.source}`, t.text, needles));
}

/**
 * One integration whose secret holds `connectionString`; a batch with two good events and one bad one
 * (so quarantine is exercised too). Returns what came out, for the outcome assertions and the scan.
 */
async function provoke(label: string, connectionString: string, options: { createContainer?: boolean } = {}) {
  const secretName = `leak-${label}`;
  const integration = await stack.addIntegration({ connectionStringSecret: secretName, eventTypes: ['users.messages.email.Send'] }, options);
  stack.setSecret(secretName, connectionString);
  const bad = { ...demoEvent(emailSend()), time: 'yesterday' };
  const messages = messagesFor(integration.id, [[demoEvent(emailSend()), bad], [demoEvent(emailSend())]]);
  const logsBefore = stack.logs.length;
  let report: BatchReport | undefined;
  let error: unknown;
  try {
    report = await processCurrentsBatch(messages, stack.app.deps(stack.log));
  } catch (err) {
    error = err;
  }
  const parked: { source: string; text: string }[] = [];
  for (const name of await listBlobs(stack.service, stack.app.settings.PARKED_CONTAINER, `${integration.id}/`)) {
    const client = stack.service.getContainerClient(stack.app.settings.PARKED_CONTAINER).getBlockBlobClient(name);
    parked.push({ source: `parked ${name}`, text: `${name}\n${toText((await client.getProperties()).metadata)}\n${(await client.downloadToBuffer()).toString('utf8')}` });
  }
  const seen: Seen = {
    label,
    texts: [
      { source: 'log', text: stack.logs.slice(logsBefore).join('\n') },
      { source: 'report', text: toText(report) },
      { source: 'error', text: error === undefined ? '' : `${String((error as Error).message)}\n${String((error as Error).stack)}\n${inspect(error, { depth: 8 })}` },
      ...parked,
    ],
  };
  everything.push(seen);
  return { integration, report, error, seen, parkedText: parked.map((p) => p.text).join('\n'), logText: seen.texts[0].text };
}

function assertClean(seen: Seen): void {
  const hits = scanAll(seen);
  assert.equal(hits.length, 0, `secret material in output:\n${describeHits(hits)}`);
}

test('a wrong account key: events parked (auth), no key anywhere', async () => {
  const r = await provoke('wrong-key', withKey(WRONG_KEY));
  assert.equal(r.report?.parked.events, 2);
  assert.ok(r.report?.parked.reasons['auth']);
  assertClean(r.seen);
});

test('an account key that is not base64: events parked (auth), the value appears nowhere', async () => {
  const r = await provoke('not-base64', withKey('not-base64'));
  assert.equal(r.report?.parked.events, 2);
  assert.ok(r.report?.parked.reasons['auth']);
  assert.ok(!`${r.logText}\n${r.parkedText}`.includes('not-base64'));
  assertClean(r.seen);
});

test('an unparseable connection string (no account name): parked with a message naming the secret, not quoting it', async () => {
  const r = await provoke('no-account-name', `DefaultEndpointsProtocol=http;AccountKey=${AZURITE_KEY};BlobEndpoint=${stack.azurite.blobEndpoint};`);
  assert.equal(r.report?.parked.events, 2);
  assert.match(r.parkedText, /secret leak-no-account-name \(version [0-9a-f]+\) is not a valid storage connection string/);
  assertClean(r.seen);
});

test('a SAS connection string with a wrong signature: parked (auth), no signature anywhere', async () => {
  const r = await provoke('wrong-sas', withSas(WRONG_SAS));
  assert.equal(r.report?.parked.events, 2);
  assert.ok(r.report?.parked.reasons['auth']);
  assertClean(r.seen);
});

test('a valid SAS connection string to a missing container: parked (missing-container), no signature anywhere', async () => {
  const r = await provoke('sas-no-container', withSas(SAS), { createContainer: false });
  assert.equal(r.report?.parked.events, 2);
  assert.ok(r.report?.parked.reasons['missing-container']);
  assertClean(r.seen);
});

test('an account-key connection string to a closed port: the batch is retried, the thrown error carries no key', async () => {
  const r = await provoke('closed-port-key', withKey(AZURITE_KEY, 'http://127.0.0.1:9/devstoreaccount1'));
  assert.ok(r.error instanceof RetryableBatchError, String(r.error));
  assertClean(r.seen);
});

test('a SAS connection string to a closed port: the batch is retried, the thrown error carries no signature', async () => {
  const r = await provoke('closed-port-sas', withSas(SAS, 'http://127.0.0.1:9/devstoreaccount1'));
  assert.ok(r.error instanceof RetryableBatchError, String(r.error));
  assertClean(r.seen);
});

// The endpoint quotes the signed URL in its error: the SDK's error message carries `sig=`, so these
// three fail the moment redaction is removed from the pipeline (describeError → redactSecrets).
test('a 403 whose error message quotes the signed URL: parked, and the signature is masked in the park reason and the log', async () => {
  const r = await provoke('echo-403', withSas(SAS, echo403.blobEndpoint));
  assert.ok(echo403.requests.some((q) => q.includes(`sig=${sigOf(SAS)}`)), 'the signature went over the wire');
  assert.equal(r.report?.parked.events, 2);
  assert.ok(r.report?.parked.reasons['auth']);
  assert.match(r.parkedText, /sig=\[REDACTED\]/, 'the park reason quotes the URL, masked');
  assert.match(r.logText, /sig=\[REDACTED\]/, 'the log quotes the URL, masked');
  assertClean(r.seen);
});

test('a 503 whose error message quotes the signed URL: retried, and the thrown error masks the signature', async () => {
  const r = await provoke('echo-503', withSas(SAS, echo503.blobEndpoint));
  assert.ok(echo503.requests.some((q) => q.includes(`sig=${sigOf(SAS)}`)), 'the signature went over the wire');
  assert.ok(r.error instanceof RetryableBatchError, String(r.error));
  assert.match((r.error as Error).message, /sig=\[REDACTED\]/);
  assertClean(r.seen);
});

test('a 400 whose error message quotes the signed URL: parked (invalid), the signature masked', async () => {
  const r = await provoke('echo-400', withSas(SAS, echo400.blobEndpoint));
  assert.equal(r.report?.parked.events, 2);
  assert.ok(r.report?.parked.reasons['invalid'], toText(r.report?.parked));
  assert.match(r.parkedText, /sig=\[REDACTED\]/);
  assertClean(r.seen);
});

test('an integration document holding a connection string instead of a secret name: parked as invalid, the string is not repeated', async () => {
  const id = 'abcdef0123456789abcdef01';
  const doc = {
    id,
    name: 'pasted the connection string',
    contactEmail: 'ops@example.com',
    connectionStringSecret: withKey(AZURITE_KEY),
    container: 'pasted-secret',
    eventTypes: ['*'],
  };
  const registry = stack.service.getContainerClient(stack.app.settings.REGISTRY_CONTAINER);
  const text = JSON.stringify(doc);
  await registry.getBlockBlobClient(`${id}.json`).upload(text, Buffer.byteLength(text));
  const logsBefore = stack.logs.length;
  const report = await processCurrentsBatch(messagesFor(id, [[demoEvent(emailSend())]]), stack.app.deps(stack.log));
  assert.equal(report.parked.events, 1);
  const parked = await listBlobs(stack.service, stack.app.settings.PARKED_CONTAINER, `${id}/`);
  const parkedText = (await Promise.all(parked.map((n) => readBlob(stack.service, stack.app.settings.PARKED_CONTAINER, n)))).join('\n');
  assert.match(parkedText, /connectionStringSecret: must be a Key Vault secret name/);
  const seen: Seen = { label: 'pasted-connection-string', texts: [{ source: 'log', text: stack.logs.slice(logsBefore).join('\n') }, { source: 'parked', text: parkedText }, { source: 'report', text: toText(report) }] };
  everything.push(seen);
  assertClean(seen);
});

test('through the Functions adapter (safeLog + batch summary line): no secret in the invocation log or the thrown error', async () => {
  const parkedOne = await stack.addIntegration({ connectionStringSecret: 'leak-adapter-403', eventTypes: ['users.messages.email.Send'] });
  stack.setSecret('leak-adapter-403', withSas(SAS, echo403.blobEndpoint));
  const retried = await stack.addIntegration({ connectionStringSecret: 'leak-adapter-503', eventTypes: ['users.messages.email.Send'] });
  stack.setSecret('leak-adapter-503', withSas(SAS, echo503.blobEndpoint));
  const logs: string[] = [];
  const context = (seq: number) =>
    new InvocationContext({
      functionName: 'currentsEvents',
      logHandler: (level, ...args) => logs.push(`${level} ${args.map(String).join(' ')}`),
      triggerMetadata: {
        messageIdArray: [`adapter-${seq}`],
        sequenceNumberArray: [seq],
        enqueuedTimeUtcArray: [new Date().toISOString()],
        deliveryCountArray: [1],
        applicationPropertiesArray: [{}],
      },
    });
  await currentsEvents([{ integrationId: parkedOne.id, events: [demoEvent(emailSend())] }], context(7_000_001), stack.app);
  const thrown = await currentsEvents([{ integrationId: retried.id, events: [demoEvent(emailSend())] }], context(7_000_002), stack.app).then(
    () => undefined,
    (err: unknown) => err,
  );
  assert.ok(thrown instanceof RetryableBatchError, String(thrown));
  assert.ok(logs.some((l) => /parked 1 users\.messages\.email\.Send events/.test(l)), logs.join('\n'));
  assert.ok(logs.some((l) => l.startsWith('information currents batch:')), logs.join('\n'));
  const seen: Seen = {
    label: 'functions-adapter',
    texts: [
      { source: 'invocation log', text: logs.join('\n') },
      { source: 'thrown', text: `${(thrown as Error).message}\n${(thrown as Error).stack}\n${inspect(thrown, { depth: 8 })}` },
    ],
  };
  everything.push(seen);
  assertClean(seen);
});

test('telemetry, every quarantine blob and every parked blob, and the whole log: no secret anywhere', async () => {
  const texts: { source: string; text: string }[] = [
    { source: 'log (all)', text: stack.logs.join('\n') },
    { source: 'telemetry events', text: toText(stack.telemetry.events) },
    { source: 'telemetry totals', text: toText([...stack.telemetry.totals]) },
  ];
  for (const container of [stack.app.settings.QUARANTINE_CONTAINER, stack.app.settings.PARKED_CONTAINER]) {
    for (const name of await listBlobs(stack.service, container)) {
      const client = stack.service.getContainerClient(container).getBlockBlobClient(name);
      const props = await client.getProperties();
      texts.push({ source: `${container}/${name}`, text: `${name}\n${toText(props.metadata)}\n${(await client.downloadToBuffer()).toString('utf8')}` });
    }
  }
  assert.ok(texts.some((t) => t.source.startsWith(stack.app.settings.QUARANTINE_CONTAINER)), 'the bad events were quarantined');
  assert.ok(stack.telemetry.events.some((e) => e.name === 'CurrentsEventsParked'));
  const seen: Seen = { label: 'all', texts };
  const hits = [...scanAll(seen), ...everything.flatMap(scanAll)];
  assert.equal(hits.length, 0, `secret material in output:\n${describeHits(hits)}`);
});
