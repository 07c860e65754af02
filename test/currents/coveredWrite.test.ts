import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chunkUnits, decodeOffsets, encodeOffsets, type Unit } from '../../shared/storage/coveredWrite';

const units = (offsets: bigint[], itemsEach = 1): Unit<number>[] => offsets.map((offset) => ({ offset, items: Array.from({ length: itemsEach }, (_, i) => i) }));

test('coverage ranges round-trip and compress contiguous offsets', () => {
  const offsets = [1n, 2n, 3n, 7n, 9n, 10n, 123456789012345n];
  assert.equal(encodeOffsets(offsets), '1-3,7,9-10,123456789012345');
  assert.deepEqual([...decodeOffsets('1-3,7,9-10')!], [1n, 2n, 3n, 7n, 9n, 10n]);
  assert.equal(decodeOffsets('1-3,x'), undefined, 'garbage is not proof');
  assert.equal(decodeOffsets(undefined), undefined);
});

test('files split by item count without splitting a message', () => {
  const chunks = chunkUnits(units([1n, 2n, 3n, 4n, 5n], 4), 10);
  assert.deepEqual(chunks.map((c) => c.map((u) => u.offset)), [[1n, 2n], [3n, 4n], [5n]]);
  const oversized = chunkUnits(units([1n], 50), 10);
  assert.equal(oversized.length, 1, 'one message larger than the limit still goes whole');
});

test('files split so that coverage metadata stays small, also for a million messages', () => {
  const sparse = Array.from({ length: 2000 }, (_, i) => BigInt(i * 2 + 1_000_000)); // no contiguous runs
  const chunks = chunkUnits(units(sparse), 1_000_000);
  assert.ok(chunks.length > 1);
  for (const c of chunks) assert.ok(encodeOffsets(c.map((u) => u.offset)).length <= 3500);
  assert.equal(chunks.flat().length, sparse.length);
  const dense = Array.from({ length: 1_000_000 }, (_, i) => BigInt(i));
  const denseChunks = chunkUnits(units(dense), 15_000); // quadratic coverage tracking would not finish
  assert.equal(denseChunks.length, Math.ceil(1_000_000 / 15_000));
});
