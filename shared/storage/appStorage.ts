import { BlobServiceClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { RestError, type Pipeline as HttpPipeline, type PipelinePolicy } from '@azure/core-rest-pipeline';
import { DefaultAzureCredential } from '@azure/identity';
import type { Settings } from '../config/settings';

/** The app's own storage account (registry, quarantine, parked events): a connection string locally, managed identity in Azure. */
export function appBlobService(settings: Settings, options: StoragePipelineOptions = {}): BlobServiceClient {
  const client = settings.APP_STORAGE_CONNECTION_STRING
    ? BlobServiceClient.fromConnectionString(settings.APP_STORAGE_CONNECTION_STRING, options)
    : new BlobServiceClient(settings.APP_STORAGE_ACCOUNT_URL!, new DefaultAzureCredential(), options);
  return withTryTimeout(client, settings.STORAGE_TRY_TIMEOUT_SECONDS * 1000);
}

export function storageOptions(settings: Pick<Settings, 'STORAGE_MAX_TRIES' | 'STORAGE_TRY_TIMEOUT_SECONDS'>): StoragePipelineOptions {
  return {
    retryOptions: { maxTries: settings.STORAGE_MAX_TRIES, tryTimeoutInMs: settings.STORAGE_TRY_TIMEOUT_SECONDS * 1000, retryDelayInMs: 500, maxRetryDelayInMs: 8000 },
  };
}

/**
 * The SDK's `tryTimeoutInMs` only asks the *server* to give up (`?timeout=N`); nothing on the client
 * side ends a try whose answer never comes (a black-holed connection, a stalled front end), so the
 * invocation would hang until the Functions host kills it. This policy runs once per try (after the
 * retry policy) and aborts the try after `ms`, as a retriable ETIMEDOUT: the SDK retries it, then the
 * pipeline classifies it as transient. Every client derived from `client` (containers, blobs) shares it.
 */
export function withTryTimeout<T extends BlobServiceClient>(client: T, ms: number): T {
  // The storage SDK has no public hook for a per-try policy. Its clients share one core pipeline per
  // StoragePipeline (cached), which the generated client context exposes as `pipeline`.
  const core = (client as unknown as { storageClientContext?: { pipeline?: HttpPipeline } }).storageClientContext?.pipeline;
  if (!core) throw new Error('@azure/storage-blob internals changed: cannot install the per-try timeout policy');
  core.addPolicy(tryTimeoutPolicy(ms), { afterPhase: 'Retry' });
  return client;
}

export function tryTimeoutPolicy(ms: number): PipelinePolicy {
  return {
    name: 'currentsTryTimeout',
    async sendRequest(request, next) {
      const outer = request.abortSignal;
      const controller = new AbortController();
      const abort = () => controller.abort();
      const timer = setTimeout(abort, ms);
      outer?.addEventListener('abort', abort);
      request.abortSignal = controller.signal;
      try {
        return await next(request);
      } catch (err) {
        if (controller.signal.aborted && !outer?.aborted) throw new RestError(`no answer within ${ms} ms (ETIMEDOUT, client-side try timeout)`, { code: 'ETIMEDOUT', request });
        throw err;
      } finally {
        clearTimeout(timer);
        outer?.removeEventListener('abort', abort);
        request.abortSignal = outer;
      }
    },
  };
}
