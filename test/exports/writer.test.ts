import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BlobServiceClient, type ContainerClient } from '@azure/storage-blob';
import { startAzurite, type RunningAzurite } from '../../shared/local/azurite';
import { demoApiUser, demoUserDataRow, demoUsers } from '../../shared/local/demoUsers';
import { writeExport, apiExportResponse, type UserRow } from '../../shared/exports/writer';
import { USER_DATA_COLUMNS, EMAIL_ADDRESS_COLUMNS } from '../../shared/exports/csv';
import { ExportReadError, ExportRequestError, ExportWriteError } from '../../shared/exports/errors';
import { blobRows, RowSourceError } from '../../shared/exports/rowSource';
import { readWithPython } from './independentReaders';

let azurite: RunningAzurite;
let service: BlobServiceClient;
const NOW = new Date('2026-12-04T23:10:00Z');
const DATE = '2026-12-04';

before(async () => {
  azurite = await startAzurite();
  service = BlobServiceClient.fromConnectionString(azurite.connectionString);
});
after(async () => {
  await azurite.close();
});

async function freshContainer(): Promise<ContainerClient> {
  const c = service.getContainerClient(`exp-${randomBytes(6).toString('hex')}`);
  await c.create();
  return c;
}
async function names(c: ContainerClient): Promise<string[]> {
  const out: string[] = [];
  for await (const b of c.listBlobsFlat()) out.push(b.name);
  return out.sort();
}
const download = async (c: ContainerClient, name: string) => c.getBlobClient(name).downloadToBuffer();
const users = (n: number, shape: (i: number) => UserRow, from = 0) => Array.from({ length: n }, (_, i) => shape(from + i));

/** What a CSV cell must read as, written independently of the engine (docs/exports.md). */
function expectedCell(v: unknown): string {
  if (v === null || v === undefined) return '';
  if (typeof v === 'string') return /^[-=+@]/.test(v) ? `'${v}` : v;
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}
const expectedRow = (row: UserRow, headers: readonly string[], custom: readonly string[]) =>
  headers.map((h) => expectedCell(custom.includes(h) ? (row.custom_attributes as Record<string, unknown>)?.[h] : row[h]));

test('segment user-data CSV: one zip of ~5,000-user CSVs under the documented key; Python reads back every cell', async () => {
  const c = await freshContainer();
  const custom = ['favorite_color', 'interests', 'nickname'];
  const rows = users(12_345, demoUserDataRow);
  const progress: number[] = [];
  const result = await writeExport(demoUsers(12_345, demoUserDataRow), { kind: 'csv', report: 'user-data', source: 'segment', sourceId: 'seg-42', customAttributes: custom }, { container: c, prefix: 'braze/exports/', now: NOW, onProgress: (p) => progress.push(p.rows) });

  const stored = await names(c);
  assert.equal(stored.length, 1);
  assert.match(stored[0], new RegExp(`^braze/exports/segment-export/seg-42/${DATE}/users-[0-9a-f]{32}\\.zip$`));
  assert.deepEqual(result.files.map((f) => f.name), stored);
  assert.equal(result.rows, 12_345);
  assert.equal(result.folder, `braze/exports/segment-export/seg-42/${DATE}`);
  assert.equal(progress.at(-1), 12_345);

  const bytes = await download(c, stored[0]);
  assert.equal(result.bytes, bytes.length);
  const entries = readWithPython('zip-csv', bytes);
  assert.deepEqual(entries.map((e) => e.rows!.length - 1), [5000, 5000, 2345], 'about 5,000 users per CSV');
  assert.deepEqual(entries.map((e) => e.name), result.files[0].entries!.map((e) => e.name));
  const headers = [...USER_DATA_COLUMNS, ...custom];
  let i = 0;
  for (const e of entries) {
    assert.deepEqual(e.rows![0], headers, 'header: documented columns, then the custom attributes');
    for (const line of e.rows!.slice(1)) assert.deepEqual(line, expectedRow(rows[i++], headers, custom), `user ${i - 1}`);
  }
  assert.equal(i, rows.length);
  // The demo data does contain what the guard and the quoting are for.
  const cells = entries.flatMap((e) => e.rows!.slice(1).flat());
  for (const s of ["'=HYPERLINK", "'-red", "'+1 orange", "'@yellow", "'-user-", 'line\nbreak', 'say "hi"', 'Smith, Jr.', 'Nguyễn']) assert.ok(cells.some((x) => x.includes(s)), `some cell holds ${JSON.stringify(s)}`);
});

test('CSV delimiters, quoting and unicode, gzip and uncompressed: one file per chunk', async () => {
  const nasty: UserRow[] = [
    { user_id: '=SUM(A1:A9)', first_name: 'a,b;c:d|e', last_name: 'two\nlines', email: 'say "hi"', user_aliases: [{ alias_name: '-x', alias_label: 'l' }], unsubscribed_from_emails_at: null, opted_in_to_emails_at: '@noon' },
    { user_id: '-42', first_name: '李 Zoë 🎉', last_name: 'cr\r\nlf', email: "'already'", user_aliases: [], opted_in_to_emails_at: '+1' },
    { user_id: 'plain', first_name: '', last_name: ' spaced ', email: 'x@example.com', user_aliases: 'text' },
  ];
  for (const [delimiter, compression] of [[',', 'none'], [';', 'gzip'], [':', 'none'], ['|', 'gzip']] as const) {
    const c = await freshContainer();
    const result = await writeExport(nasty, { kind: 'csv', report: 'email-addresses', source: 'campaign', sourceId: 'camp_1', delimiter, compression }, { container: c, now: NOW, usersPerFile: 2 });
    const stored = await names(c);
    const ext = compression === 'gzip' ? '.csv.gz' : '.csv';
    assert.equal(stored.length, 2, `${delimiter} ${compression}: 2 users per file → 2 files`);
    stored.forEach((n, k) => assert.match(n, new RegExp(`^campaign-export/camp_1/${DATE}/emails-([0-9a-f]{32})/emails-0000${k + 1}\\${ext.replace('.gz', '\\.gz')}$`)));
    assert.deepEqual(result.files.map((f) => [f.name, f.rows]), stored.map((n, k) => [n, k === 0 ? 2 : 1]));
    const parsed = [];
    for (const n of stored) parsed.push(...readWithPython(compression === 'gzip' ? 'gz-csv' : 'csv', await download(c, n), delimiter)[0].rows!);
    const headers = [...EMAIL_ADDRESS_COLUMNS];
    assert.deepEqual(parsed[0], headers);
    assert.deepEqual(parsed.filter((r) => r[0] !== 'user_id'), nasty.map((r) => expectedRow(r, headers, [])), `${delimiter} ${compression}`);
    if (compression === 'none') {
      const text = (await download(c, stored[0])).toString('utf8');
      assert.ok(text.includes(`"say ""hi"""`), 'quotes doubled inside a quoted cell');
      assert.ok(text.includes(`"a,b;c:d|e"`), 'a cell holding a delimiter is quoted');
    }
  }
});

test('API segment export: JSON lines, selected fields only, ~5,000 users per file, zip and gzip, documented keys', async () => {
  const all = users(11_000, demoApiUser);
  const fields = ['external_id', 'email', 'phone', 'custom_attributes', 'devices'];
  for (const outputFormat of ['zip', 'gzip'] as const) {
    const c = await freshContainer();
    const result = await writeExport(all, { kind: 'api-segment', segmentId: '3f1c2a9e-seg', fields, outputFormat }, { container: c, prefix: 'p', now: NOW });
    assert.match(result.objectPrefix!, new RegExp(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}-${Math.floor(NOW.getTime() / 1000)}$`));
    assert.deepEqual(apiExportResponse(result.objectPrefix!), { message: 'success', object_prefix: result.objectPrefix, url: null });
    const stored = await names(c);
    const ext = outputFormat === 'gzip' ? 'gz' : 'zip';
    assert.equal(stored.length, 3);
    for (const n of stored) assert.match(n, new RegExp(`^p/segment-export/3f1c2a9e-seg/${DATE}/${result.objectPrefix}/[0-9a-f]{32}\\.${ext}$`));
    assert.deepEqual(result.files.map((f) => f.rows).sort(), [1000, 5000, 5000]);
    const seen = new Map<string, Record<string, unknown>>();
    for (const n of stored) {
      const file = await download(c, n);
      if (outputFormat === 'zip' && existsSync('/usr/bin/unzip')) {
        // A second independent reader: Info-ZIP's test mode checks headers and CRCs.
        const dir = mkdtempSync(join(tmpdir(), 'unzip-'));
        writeFileSync(join(dir, 'f.zip'), file);
        assert.match(execFileSync('/usr/bin/unzip', ['-t', join(dir, 'f.zip')]).toString(), /No errors detected/);
        rmSync(dir, { recursive: true, force: true });
      }
      const entries = readWithPython(outputFormat === 'gzip' ? 'gz-lines' : 'zip-lines', file);
      assert.equal(entries.length, 1);
      if (outputFormat === 'zip') assert.match(entries[0].name!, /^[0-9a-f]{32}\.jsonl$/);
      for (const line of entries[0].lines!) seen.set(line.external_id as string, line);
    }
    assert.equal(seen.size, all.length, 'every user exactly once');
    let missingSome = 0;
    for (const u of all) {
      const expected = Object.fromEntries(Object.entries(u).filter(([k, v]) => fields.includes(k) && v !== undefined && v !== null));
      if (Object.keys(expected).length < fields.length) missingSome++;
      assert.deepEqual(seen.get(u.external_id as string), expected);
    }
    assert.ok(missingSome > 1000, 'the demo users do lack some fields');
  }
});

test('recipient export: user-data columns then variation name, API id and control group', async () => {
  const c = await freshContainer();
  const rows = users(3, demoUserDataRow).map((r, i) => ({ ...r, variation_name: i === 0 ? '=Variant A' : 'Control', variation_api_id: `v-${i}`, in_control_group: i > 0 }));
  await writeExport(rows, { kind: 'csv', report: 'recipients', source: 'canvas', sourceId: 'cv1' }, { container: c, now: NOW });
  const [name] = await names(c);
  assert.match(name, new RegExp(`^canvas-export/cv1/${DATE}/users-[0-9a-f]{32}\\.zip$`));
  const [entry] = readWithPython('zip-csv', await download(c, name));
  assert.deepEqual(entry.rows![0].slice(-3), ['variation_name', 'variation_api_id', 'in_control_group']);
  assert.deepEqual(entry.rows!.slice(1).map((r) => r.slice(-3)), [["'=Variant A", 'v-0', 'false'], ['Control', 'v-1', 'true'], ['Control', 'v-2', 'true']]);
});

test('no users: a CSV export is a header-only CSV; an API export writes no file', async () => {
  const c = await freshContainer();
  const csv = await writeExport([], { kind: 'csv', report: 'email-addresses', source: 'segment', sourceId: 's' }, { container: c, now: NOW });
  assert.equal(csv.rows, 0);
  assert.deepEqual(readWithPython('zip-csv', await download(c, csv.files[0].name))[0].rows, [[...EMAIL_ADDRESS_COLUMNS]]);
  const api = await writeExport([], { kind: 'api-segment', segmentId: 's', fields: ['email'] }, { container: c, now: NOW });
  assert.deepEqual(api.files, []);
  assert.equal((await names(c)).length, 1);
});

test('a bad id is refused before anything is read or written', async () => {
  const c = await freshContainer();
  let read = 0;
  const rows = (function* () {
    read++;
    yield { email: 'x' };
  })();
  await assert.rejects(writeExport(rows, { kind: 'csv', report: 'user-data', source: 'segment', sourceId: '../../other' }, { container: c }), (err: unknown) => err instanceof ExportRequestError && err.field === 'segment_id');
  await assert.rejects(writeExport(rows, { kind: 'api-segment', segmentId: 'ok', fields: ['email'] }, { container: c, prefix: 'a/../b' }), (err: unknown) => err instanceof ExportRequestError && err.field === 'prefix');
  assert.equal(read, 0);
  await assert.rejects(writeExport([{ user_id: 'u' }], { kind: 'csv', report: 'user-data', source: 'segment', sourceId: 's' }, { container: c, names: () => '../x' }), (err: unknown) => err instanceof ExportRequestError && err.field === 'names()');
  await assert.rejects(writeExport([{ user_id: 'u' }], { kind: 'api-segment', segmentId: 's', fields: ['user_id'] }, { container: c, names: () => 'a/b' }), (err: unknown) => err instanceof ExportRequestError && err.field === 'names()');
  assert.deepEqual(await names(c), []);
});

test('create-only: a name that already exists fails the export, naming the file and what was written before', async () => {
  const c = await freshContainer();
  let k = 0;
  const fixedNames = () => `name${++k}`;
  // The second file's name is taken.
  const taken = `segment-export/s1/${DATE}/users-name1/users-00002.csv`;
  await c.getBlockBlobClient(taken).upload('theirs', 6);
  const err = await writeExport(users(12, demoUserDataRow), { kind: 'csv', report: 'user-data', source: 'segment', sourceId: 's1', compression: 'none' }, { container: c, now: NOW, usersPerFile: 5, concurrency: 1, names: fixedNames }).then(
    () => assert.fail('expected a conflict'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ExportWriteError, String(err));
  assert.equal(err.failure, 'conflict');
  assert.equal(err.file, taken);
  assert.match(err.message, /export incomplete: writing .*users-00002\.csv failed \(conflict, BlobAlreadyExists\): a blob of that name already exists/);
  assert.deepEqual(err.written.map((f) => f.name), [`segment-export/s1/${DATE}/users-name1/users-00001.csv`]);
  assert.match(err.message, /1 file\(s\) of this export were written before and remain: .*users-00001\.csv/);
  assert.equal((await download(c, taken)).toString(), 'theirs', 'never overwritten');

  // A zip of CSVs: the conflict surfaces at commit; the existing blob is untouched.
  k = 0;
  const zipName = `segment-export/s1/${DATE}/users-name1.zip`;
  await c.getBlockBlobClient(zipName).upload('theirs', 6);
  await assert.rejects(writeExport(users(12, demoUserDataRow), { kind: 'csv', report: 'user-data', source: 'segment', sourceId: 's1' }, { container: c, now: NOW, usersPerFile: 5, names: fixedNames }), (e: unknown) => e instanceof ExportWriteError && e.failure === 'conflict' && e.file === zipName && /no file of this export was written/.test(e.message));
  assert.equal((await download(c, zipName)).toString(), 'theirs');
});

test('a missing container fails clearly', async () => {
  const c = service.getContainerClient(`missing-${randomBytes(4).toString('hex')}`);
  for (const compression of ['zip', 'gzip'] as const) {
    await assert.rejects(writeExport(users(7, demoUserDataRow), { kind: 'csv', report: 'user-data', source: 'segment', sourceId: 's', compression }, { container: c, usersPerFile: 5 }), (e: unknown) => e instanceof ExportWriteError && e.failure === 'missing-container' && /ContainerNotFound/.test(e.message));
  }
});

test('row source: JSON lines from a blob (gzip too), blank and CRLF lines; a malformed line fails naming its number', async () => {
  const c = await freshContainer();
  const lines = users(6, demoApiUser).map((u) => JSON.stringify(u));
  const text = `${lines.slice(0, 3).join('\r\n')}\r\n\n${lines.slice(3).join('\n')}\n`;
  await c.getBlockBlobClient('in/users.jsonl.gz').upload(gzipSync(text), gzipSync(text).length);
  const back: UserRow[] = [];
  for await (const r of blobRows(c.getBlobClient('in/users.jsonl.gz'))) back.push(r);
  assert.deepEqual(back, users(6, demoApiUser).map((u) => JSON.parse(JSON.stringify(u))));

  // Line 4 is broken: the export fails naming blob and line; the first full file stays and is listed.
  const broken = [lines[0], lines[1], lines[2], '{"external_id": "x",', lines[4]].join('\n');
  await c.getBlockBlobClient('in/broken.jsonl').upload(broken, Buffer.byteLength(broken));
  const err = await writeExport(blobRows(c.getBlobClient('in/broken.jsonl')), { kind: 'api-segment', segmentId: 's', fields: ['external_id'] }, { container: c, usersPerFile: 2, concurrency: 1 }).then(
    () => assert.fail('expected the malformed line to fail the export'),
    (e: unknown) => e,
  );
  assert.ok(err instanceof ExportReadError, String(err));
  assert.ok(err.cause instanceof RowSourceError);
  assert.equal(err.cause.line, 4);
  assert.match(err.message, new RegExp(`reading the user rows failed: ${c.containerName}/in/broken\\.jsonl line 4: not valid JSON`));
  assert.equal(err.written.length, 1);
  assert.match(err.message, /1 file\(s\) of this export were written before and remain/);

  const notObject = `${lines[0]}\n[1,2]\n`;
  await c.getBlockBlobClient('in/array.jsonl').upload(notObject, notObject.length);
  await assert.rejects(async () => {
    for await (const _ of blobRows(c.getBlobClient('in/array.jsonl'))) void _;
  }, /in\/array\.jsonl line 2: expected a JSON object, got an array/);
});

test('a failing row source during a zip export leaves no file', async () => {
  const c = await freshContainer();
  async function* failing() {
    yield* demoUsers(7_000, demoUserDataRow);
    throw new Error('user store went away');
  }
  await assert.rejects(writeExport(failing(), { kind: 'csv', report: 'user-data', source: 'segment', sourceId: 's' }, { container: c }), (e: unknown) => e instanceof ExportReadError && /user store went away; no file of this export was written/.test(e.message));
  assert.deepEqual(await names(c), []);
});
