import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Azurite's Blob service in this process: for local runs (persisted under a folder) and tests
 * (in memory). Loaded lazily: azurite is a dev dependency and never part of the deployed app.
 */
export const AZURITE_ACCOUNT = 'devstoreaccount1';
/** The public, documented Azurite development key (not a secret). */
export const AZURITE_KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

export interface RunningAzurite {
  blobEndpoint: string;
  connectionString: string;
  close(): Promise<void>;
}

export function azuriteConnectionString(blobEndpoint: string): string {
  return `DefaultEndpointsProtocol=http;AccountName=${AZURITE_ACCOUNT};AccountKey=${AZURITE_KEY};BlobEndpoint=${blobEndpoint};`;
}

export async function startAzurite(options: { location?: string; port?: number } = {}): Promise<RunningAzurite> {
  /* eslint-disable @typescript-eslint/no-require-imports */
  const BlobServer = require('azurite/dist/src/blob/BlobServer').default;
  const BlobConfiguration = require('azurite/dist/src/blob/BlobConfiguration').default;
  const inMemory = options.location === undefined;
  if (!inMemory) mkdirSync(options.location!, { recursive: true });
  const config = new BlobConfiguration(
    '127.0.0.1',
    options.port ?? 0,
    undefined,
    inMemory ? undefined : join(options.location!, '__azurite_db_blob__.json'),
    inMemory ? undefined : join(options.location!, '__azurite_db_blob_extent__.json'),
    inMemory ? undefined : [{ locationId: 'Default', locationPath: join(options.location!, '__blobstorage__'), maxConcurrency: 10 }],
    false, // access log
    undefined,
    false, // debug log
    undefined,
    false, // loose
    true, // skipApiVersionCheck: the SDK may be newer than the emulator
    undefined,
    undefined,
    undefined,
    undefined,
    false,
    inMemory,
  );
  const server = new BlobServer(config);
  await server.start();
  const address = server.getHttpServerAddress() as string; // http://127.0.0.1:<port>
  const blobEndpoint = `${address}/${AZURITE_ACCOUNT}`;
  return {
    blobEndpoint,
    connectionString: azuriteConnectionString(blobEndpoint),
    close: async () => {
      await server.close();
      await server.clean?.();
    },
  };
}
