import { test } from 'node:test';
import assert from 'node:assert/strict';
import { currentsBlobName, hourLabel, padOffset, startOfHour } from '../../shared/currents/naming';
import { partitionOf, offsetOf } from '../../shared/currents/queueMessage';

test('blob names follow the Braze Currents layout exactly', () => {
  const name = currentsBlobName({
    prefix: 'currents',
    cluster: 'prod-01',
    environment: 'us-01',
    integrationId: '5f0c1a2b3c4d5e6f7a8b9c0d',
    eventType: 'users.messages.email.Send',
    queuedHour: new Date('2026-12-04T09:00:00Z'),
    version: 10,
    partition: 3,
    offset: 4217n,
  });
  assert.equal(
    name,
    'currents/dataexport.prod-01.AzureBlob.integration.5f0c1a2b3c4d5e6f7a8b9c0d/event_type=users.messages.email.Send/date=2026-12-04-09/version=10/us-01/' +
      'dataexport.prod-01.AzureBlob.integration.5f0c1a2b3c4d5e6f7a8b9c0d+3+0000004217.avro',
  );
});

test('hours are UTC and offsets pad to 10 digits without truncating longer ones', () => {
  assert.equal(hourLabel(startOfHour(new Date('2026-03-01T00:59:59.999+01:00'))), '2026-02-28-23');
  assert.equal(padOffset(7), '0000000007');
  assert.equal(padOffset(123456789012n), '123456789012');
});

test('partition is the top 16 bits of a partitioned sequence number, offset the rest', () => {
  const seq = (5n << 48n) | 99n;
  assert.equal(partitionOf(seq), 5);
  assert.equal(offsetOf(seq), 99n);
  assert.equal(partitionOf(1234n), 0);
});
