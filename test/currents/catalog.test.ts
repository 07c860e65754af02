import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentsCatalog, EVENT_GROUPS } from '../../shared/currents/schemas/catalog';

const catalog = currentsCatalog();

test('the catalog covers the Currents v10 event types, in all three groups', () => {
  const v10 = catalog.availableIn(10);
  assert.ok(v10.length >= 90, `only ${v10.length} v10 event types`);
  for (const group of EVENT_GROUPS) assert.ok(v10.some((s) => s.group === group), `no ${group} types`);
  for (const t of ['users.messages.email.Send', 'users.behaviors.CustomEvent', 'users.UserDeleteRequest', 'users.canvas.Entry', 'agentconsole.AgentExecuted']) {
    assert.ok(catalog.get(t), `missing ${t}`);
  }
});

test('every schema has a required id, a time, and nullable fields as ["null", T] with default null', () => {
  for (const s of catalog.all()) {
    const schema = JSON.parse(s.schemaJson);
    const byName = new Map<string, { type: unknown; default?: unknown }>(schema.fields.map((f: { name: string }) => [f.name, f]));
    assert.equal(byName.get('id')?.type, 'string', `${s.eventType}.id`);
    assert.ok(['int', 'long'].includes(byName.get('time')?.type as string), `${s.eventType}.time`);
    assert.equal(new Set(schema.fields.map((f: { name: string }) => f.name)).size, schema.fields.length, `${s.eventType}: duplicate field`);
    for (const f of schema.fields) {
      if (Array.isArray(f.type)) {
        assert.equal(f.type[0], 'null');
        assert.ok('default' in f && f.default === null, `${s.eventType}.${f.name}`);
      } else {
        assert.ok(!('default' in f), `${s.eventType}.${f.name}: required fields have no default`);
      }
    }
  }
});
