import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { BlobServiceClient } from '@azure/storage-blob';
import { classifyStorageError } from '../../shared/storage/errors';
import { startAzurite, type RunningAzurite } from '../../shared/local/azurite';

let azurite: RunningAzurite;
before(async () => {
  azurite = await startAzurite();
});
after(async () => {
  await azurite.close();
});

const client = (cs: string) => BlobServiceClient.fromConnectionString(cs, { retryOptions: { maxTries: 1, tryTimeoutInMs: 2000 } });
async function failureOf(action: () => Promise<unknown>): Promise<string> {
  try {
    await action();
  } catch (err) {
    return classifyStorageError(err);
  }
  throw new Error('expected the call to fail');
}

test('real storage failures are classified: wrong key → auth, missing container, 409 → conflict, refused connection → transient', async () => {
  const good = client(azurite.connectionString);
  await good.getContainerClient('classify').create();
  const blob = good.getContainerClient('classify').getBlockBlobClient('a');
  await blob.upload('x', 1);

  const wrongKey = client(azurite.connectionString.replace(/AccountKey=[^;]+/, `AccountKey=${Buffer.alloc(64, 3).toString('base64')}`));
  assert.equal(await failureOf(() => wrongKey.getContainerClient('classify').getBlockBlobClient('b').upload('x', 1)), 'auth');
  assert.equal(await failureOf(() => good.getContainerClient('no-such-container').getBlockBlobClient('b').upload('x', 1)), 'missing-container');
  assert.equal(await failureOf(() => blob.upload('y', 1, { conditions: { ifNoneMatch: '*' } })), 'conflict');
  const closedPort = client(azurite.connectionString.replace(/BlobEndpoint=http:\/\/127\.0\.0\.1:\d+/, 'BlobEndpoint=http://127.0.0.1:9'));
  assert.equal(await failureOf(() => closedPort.getContainerClient('classify').getBlockBlobClient('b').upload('x', 1)), 'transient');
});

test('status codes without a known error code: throttling and server errors retry, other 4xx are invalid, unknown is transient', () => {
  assert.equal(classifyStorageError({ statusCode: 503, code: 'ServerBusy' }), 'transient');
  assert.equal(classifyStorageError({ statusCode: 429 }), 'transient');
  assert.equal(classifyStorageError({ statusCode: 500 }), 'transient');
  assert.equal(classifyStorageError({ statusCode: 403, code: 'AuthenticationFailed' }), 'auth');
  assert.equal(classifyStorageError({ statusCode: 400, code: 'InvalidBlobOrBlock' }), 'invalid');
  assert.equal(classifyStorageError({ name: 'AbortError' }), 'transient');
  assert.equal(classifyStorageError(new Error('something new')), 'transient');
});
