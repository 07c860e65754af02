import { test } from 'node:test';
import assert from 'node:assert/strict';
import { exceedsBytes } from '../../shared/currents/eventSize';

test('the size rule is exact at the limit, for ASCII and multi-byte text', () => {
  const limit = 921_600;
  const withText = (text: string) => ({ id: 'e1', time: 1, email_address: text });
  const overhead = Buffer.byteLength(JSON.stringify(withText('')));
  assert.equal(exceedsBytes(withText('a'.repeat(limit - overhead)), limit), false, 'exactly at the limit is allowed');
  assert.equal(exceedsBytes(withText('a'.repeat(limit - overhead + 1)), limit), true);
  // '€' is 3 bytes in UTF-8: the bound must not undercount it.
  const euros = Math.floor((limit - overhead) / 3);
  assert.equal(exceedsBytes(withText('€'.repeat(euros)), limit), false);
  assert.equal(exceedsBytes(withText('€'.repeat(euros + 1)), limit), true);
  assert.equal(exceedsBytes({ nested: { list: ['x'.repeat(limit)] } }, limit), true);
  assert.equal(exceedsBytes(withText('small'), limit), false);
});
