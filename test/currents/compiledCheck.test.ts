import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentsCatalog, type FieldSpec } from '../../shared/currents/schemas/catalog';
import { fastCheckOf } from '../../shared/currents/compiledCheck';
import { checkEvent } from '../../shared/currents/eventRecord';
import { demoEvent } from '../../shared/local/demoEvents';

const catalog = currentsCatalog();
const LIMIT = 921_600;
const jsonBytes = (e: unknown) => Buffer.byteLength(JSON.stringify(e));

/** A value of the wrong type for the field (what a broken producer sends). */
function wrongValue(field: FieldSpec): unknown {
  if (field.valueType === 'string') return 42;
  if (field.valueType === 'boolean') return 'true';
  if (typeof field.valueType === 'string') return 'not a number';
  return 'not a container';
}

test('the fast path accepts valid events of every type, with a bound at least the JSON size', () => {
  for (const schema of catalog.all()) {
    for (let i = 0; i < 10; i++) {
      const event = demoEvent(schema, 1_700_000_000_000);
      const bound = fastCheckOf(schema)(event);
      assert.ok(bound >= jsonBytes(event), `${schema.eventType}: bound ${bound} < ${jsonBytes(event)} bytes`);
      assert.equal(checkEvent(event, schema, LIMIT), undefined);
    }
  }
});

test('the fast path never accepts an event the full check refuses: every field missing, null, mistyped or with a lone surrogate', () => {
  let refused = 0;
  for (const schema of catalog.all()) {
    const base = demoEvent(schema, 1_700_000_000_000);
    for (const field of schema.fields) {
      const mutations: [string, Record<string, unknown>][] = [
        ['missing', Object.fromEntries(Object.entries(base).filter(([k]) => k !== field.name))],
        ['null', { ...base, [field.name]: null }],
        ['mistyped', { ...base, [field.name]: wrongValue(field) }],
      ];
      if (field.valueType === 'string') mutations.push(['lone surrogate', { ...base, [field.name]: 'a\uD800b' }]);
      if (typeof field.valueType === 'object') mutations.push(['lone surrogate inside', { ...base, [field.name]: (field.valueType as { type: string }).type === 'array' ? ['x\uDC00'] : { k: 'x\uDC00' } }]);
      for (const [what, event] of mutations) {
        const problem = checkEvent(event, schema, LIMIT);
        const fast = fastCheckOf(schema)(event);
        if (problem) {
          refused += 1;
          assert.equal(fast, -1, `${schema.eventType}.${field.name} ${what}: fast path accepted what the full check refuses (${problem.reason})`);
          assert.equal(problem.field, field.name, `${schema.eventType}.${field.name} ${what}: ${problem.reason}`);
        } else {
          assert.ok(field.nullable && (what === 'missing' || what === 'null'), `${schema.eventType}.${field.name} ${what} was accepted`);
          assert.ok(fast >= jsonBytes(event), `${schema.eventType}.${field.name} ${what}: bound ${fast} < size`);
        }
      }
    }
  }
  assert.ok(refused > 1000, `only ${refused} refusals exercised`);
});

test('members outside the schema go to the full walk: they count towards the size limit', () => {
  const schema = catalog.get('users.messages.email.Send')!;
  const small = { ...demoEvent(schema, 1_700_000_000_000), newer_version_field: 'x' };
  assert.equal(fastCheckOf(schema)(small), -1);
  assert.equal(checkEvent(small, schema, LIMIT), undefined);
  const huge = { ...small, newer_version_field: 'x'.repeat(LIMIT) };
  assert.equal(checkEvent(huge, schema, LIMIT)?.oversize, true);
  // Oversize wins over any other problem, as before the fast path existed.
  const hugeAndBroken = { ...huge, id: 7 };
  assert.equal(checkEvent(hugeAndBroken, schema, LIMIT)?.oversize, true);
});
