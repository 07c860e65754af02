import { BlobServiceClient, type StoragePipelineOptions } from '@azure/storage-blob';
import { DefaultAzureCredential } from '@azure/identity';
import type { Settings } from '../config/settings';

/** The app's own storage account (registry, quarantine, parked events): a connection string locally, managed identity in Azure. */
export function appBlobService(settings: Settings, options: StoragePipelineOptions = {}): BlobServiceClient {
  if (settings.APP_STORAGE_CONNECTION_STRING) {
    return BlobServiceClient.fromConnectionString(settings.APP_STORAGE_CONNECTION_STRING, options);
  }
  return new BlobServiceClient(settings.APP_STORAGE_ACCOUNT_URL!, new DefaultAzureCredential(), options);
}

export function storageOptions(settings: Pick<Settings, 'STORAGE_MAX_TRIES' | 'STORAGE_TRY_TIMEOUT_SECONDS'>): StoragePipelineOptions {
  return {
    retryOptions: { maxTries: settings.STORAGE_MAX_TRIES, tryTimeoutInMs: settings.STORAGE_TRY_TIMEOUT_SECONDS * 1000, retryDelayInMs: 500, maxRetryDelayInMs: 8000 },
  };
}
