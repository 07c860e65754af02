import { test } from 'node:test';
import assert from 'node:assert/strict';
import avro from 'avsc';
import { encodeContainerFile, syncMarkerFor } from '../../shared/currents/avroFile';
import { avroSchemaFor, parseFieldSpec } from '../../shared/currents/schemas/catalog';
import { decodeWithAvsc } from '../support/avsc';
import { decodeWithPython } from '../support/pythonAvro';

const fields = ['id:string', 'time:int', 'user_id:string?', 'score:double?', 'tags:array<string>?'].map(parseFieldSpec);
const schema = avroSchemaFor('users.behaviors.Demo', fields);
const type = avro.Type.forSchema(schema as avro.Schema);
const records = Array.from({ length: 5000 }, (_, i) => ({ id: `e${i}`, time: 1_733_300_000 + i, user_id: i % 3 ? `u${i}` : null, score: i % 2 ? i / 7 : null, tags: i % 4 ? ['a', `t${i}`] : null }));

for (const codec of ['null', 'deflate'] as const) {
  test(`${codec} codec: many blocks, decoded identically by avsc and Apache Avro (Python)`, async () => {
    const file = encodeContainerFile({ schemaJson: JSON.stringify(schema), type, codec, syncMarker: syncMarkerFor('x'), records, blockBytes: 4096 });
    assert.equal(file.records, records.length);
    const viaAvsc = await decodeWithAvsc(file.bytes);
    assert.deepEqual(viaAvsc.records.map((r) => ({ ...r })), records);
    const [viaPython] = decodeWithPython([file.bytes]);
    assert.equal(viaPython.records.length, records.length);
    assert.deepEqual(viaPython.records[1], records[1]);
    assert.deepEqual(Object.keys(viaAvsc.meta).sort(), codec === 'null' ? ['avro.schema'] : ['avro.codec', 'avro.schema']);
    if (codec === 'deflate') assert.equal(viaPython.meta['avro.codec'], 'deflate');
  });
}

test('the same records and name give the same bytes (every retry writes an identical file)', () => {
  const a = encodeContainerFile({ schemaJson: JSON.stringify(schema), type, codec: 'deflate', syncMarker: syncMarkerFor('name-1'), records });
  const b = encodeContainerFile({ schemaJson: JSON.stringify(schema), type, codec: 'deflate', syncMarker: syncMarkerFor('name-1'), records });
  const c = encodeContainerFile({ schemaJson: JSON.stringify(schema), type, codec: 'deflate', syncMarker: syncMarkerFor('name-2'), records });
  assert.ok(a.bytes.equals(b.bytes));
  assert.ok(!a.bytes.equals(c.bytes));
});

test('records larger than the block buffer are encoded whole', async () => {
  const big = [{ id: 'big', time: 1, user_id: 'u'.repeat(100_000), score: null, tags: null }];
  const file = encodeContainerFile({ schemaJson: JSON.stringify(schema), type, codec: 'null', syncMarker: syncMarkerFor('b'), records: big, blockBytes: 1024 });
  const decoded = await decodeWithAvsc(file.bytes);
  assert.equal((decoded.records[0].user_id as string).length, 100_000);
});
