import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cellText, csvColumns, guardCell, USER_DATA_COLUMNS, EMAIL_ADDRESS_COLUMNS } from '../../shared/exports/csv';
import { jsonLine, checkFields } from '../../shared/exports/jsonLines';
import { checkId, checkPrefix } from '../../shared/exports/naming';
import { checkJob } from '../../shared/exports/job';
import { ExportRequestError } from '../../shared/exports/errors';

const refused = (fn: () => unknown, field: string) =>
  assert.throws(fn, (err: unknown) => err instanceof ExportRequestError && err.field === field && err.message.startsWith(`${field}: `), `expected ${field} to be refused`);

test('formula guard: text starting with - = + @ gets an apostrophe; nothing else does', () => {
  for (const s of ['-1', '=SUM(A1)', '+49 30', '@user', '-']) assert.equal(guardCell(s), `'${s}`);
  for (const s of ['', 'a-b', ' =x', "'=x", '1', '€', '\t=x']) assert.equal(guardCell(s), s);
  assert.equal(cellText(-5), '-5', 'numbers stay numbers');
  assert.equal(cellText('-5'), "'-5", 'text that looks like a number is text');
});

test('cell text: missing values empty, booleans, arrays and objects as JSON, dates ISO', () => {
  assert.equal(cellText(null), '');
  assert.equal(cellText(undefined), '');
  assert.equal(cellText(true), 'true');
  assert.equal(cellText(false), 'false');
  assert.equal(cellText(NaN), '');
  assert.equal(cellText([]), '[]');
  assert.equal(cellText(['a', '=b']), '["a","=b"]');
  assert.equal(cellText({ k: 1 }), '{"k":1}');
  assert.equal(cellText(new Date(Date.UTC(2026, 0, 2, 3, 4, 5))), '2026-01-02T03:04:05.000Z');
});

test('columns: documented order, custom attributes after, collisions refused', () => {
  const c = csvColumns('user-data', ['favorite_color', 'plan']);
  assert.deepEqual(c.headers, [...USER_DATA_COLUMNS, 'favorite_color', 'plan']);
  assert.equal(c.headers[0], 'Appboy ID');
  assert.equal(c.headers.length, 37);
  assert.deepEqual(csvColumns('email-addresses').headers, [...EMAIL_ADDRESS_COLUMNS]);
  assert.deepEqual(csvColumns('recipients').headers.slice(-3), ['variation_name', 'variation_api_id', 'in_control_group']);
  refused(() => csvColumns('user-data', ['email']), 'customAttributes[0]');
  refused(() => csvColumns('user-data', ['a', 'a']), 'customAttributes[1]');
  refused(() => csvColumns('user-data', ['bad\nname']), 'customAttributes[0]');
});

test('JSON lines: selected fields only, missing and null omitted, row order kept', () => {
  const selected = new Set(checkFields(['external_id', 'email', 'custom_attributes', 'phone']));
  const row = { braze_id: 'b1', external_id: 'u1', email: null, phone: undefined, custom_attributes: { a: null, b: [1] } };
  assert.equal(jsonLine(row, selected), '{"external_id":"u1","custom_attributes":{"a":null,"b":[1]}}');
  const exact = { external_id: 'u2', email: 'é@example.com' };
  assert.equal(jsonLine(exact, selected), JSON.stringify(exact));
  assert.equal(jsonLine({ other: 1 }, selected), '{}');
  refused(() => checkFields([]), 'fields_to_export');
  refused(() => checkFields(['a', 'a']), 'fields_to_export[1]');
});

test('ids and prefixes: no path traversal, no control characters, named in the error', () => {
  assert.equal(checkId('segment_id', 'a1b2-c3'), 'a1b2-c3');
  for (const bad of ['', '.', '..', 'a/b', 'a\\b', 'x\u0000', 'x\ny', 'x\u007f', 'x\u0085', ' x', 'x '.repeat(1), 'x'.repeat(256)]) refused(() => checkId('segment_id', bad), 'segment_id');
  refused(() => checkId('segment_id', 42 as unknown as string), 'segment_id');
  assert.equal(checkPrefix('prefix', undefined), '');
  assert.equal(checkPrefix('prefix', 'exports/braze/'), 'exports/braze');
  for (const bad of ['/abs', 'a//b', 'a/../b', 'a/./b', 'a/\u0001']) refused(() => checkPrefix('prefix', bad), 'prefix');
});

test('jobs: every bad setting refused up front, naming the field', () => {
  refused(() => checkJob({ kind: 'api-segment', segmentId: '../x', fields: ['email'] }), 'segment_id');
  refused(() => checkJob({ kind: 'api-segment', segmentId: 's', fields: ['email'], outputFormat: 'rar' as 'zip' }), 'output_format');
  refused(() => checkJob({ kind: 'csv', report: 'user-data', source: 'campaign', sourceId: 'a/b' }), 'campaign_id');
  refused(() => checkJob({ kind: 'csv', report: 'user-data', source: 'segment', sourceId: 's', delimiter: '\t' as ',' }), 'delimiter');
  refused(() => checkJob({ kind: 'csv', report: 'user-data', source: 'segment', sourceId: 's', compression: 'bz2' as 'zip' }), 'compression');
  refused(() => checkJob({ kind: 'csv', report: 'recipients', source: 'segment', sourceId: 's' }), 'report');
  refused(() => checkJob({ kind: 'csv', report: 'user-data', source: 'list' as 'segment', sourceId: 's' }), 'source');
  const ok = checkJob({ kind: 'csv', report: 'email-addresses', source: 'canvas', sourceId: 'c1', delimiter: '|', compression: 'gzip' });
  assert.equal(ok.kind === 'csv' && ok.base, 'emails');
});
