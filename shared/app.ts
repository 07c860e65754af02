import type { Settings } from './config/settings';
import { currentsCatalog } from './currents/schemas/catalog';
import { BlobIntegrationRegistry } from './integrations/registry';
import { BlobQuarantine } from './currents/quarantine';
import { BlobParking } from './currents/parking';
import type { CurrentsDeps } from './currents/pipeline';
import { appBlobService, storageOptions } from './storage/appStorage';
import { Destinations } from './storage/destinations';
import { CachedSecrets } from './secrets/cachedSecrets';
import type { SecretSource } from './secrets/secretSource';
import { LocalFileSecretSource } from './secrets/localFileSecretSource';
import { createKeyVaultSecretSource } from './secrets/keyVaultSecretSource';
import { logTelemetry, type Log, type Telemetry } from './telemetry/telemetry';

/**
 * The composition root: builds every long-lived client once per process (Blob clients, the secret
 * cache, the registry cache) and hands the pipeline its dependencies.
 */
export interface CurrentsApp {
  settings: Settings;
  registry: BlobIntegrationRegistry;
  secrets: CachedSecrets;
  /** Creates the app's own containers once. */
  ready(): Promise<void>;
  deps(log: Log): CurrentsDeps;
}

export function secretSourceFor(settings: Settings): SecretSource {
  if (settings.KEY_VAULT_URL) return createKeyVaultSecretSource(settings.KEY_VAULT_URL);
  return new LocalFileSecretSource(settings.LOCAL_SECRETS_FILE!);
}

export function createCurrentsApp(settings: Settings, options: { telemetry?: Telemetry; secretSource?: SecretSource } = {}): CurrentsApp {
  const service = appBlobService(settings, storageOptions(settings));
  const registryContainer = service.getContainerClient(settings.REGISTRY_CONTAINER);
  const quarantineContainer = service.getContainerClient(settings.QUARANTINE_CONTAINER);
  const parkedContainer = service.getContainerClient(settings.PARKED_CONTAINER);
  const registry = new BlobIntegrationRegistry(registryContainer, { ttlMs: settings.REGISTRY_CACHE_TTL_SECONDS * 1000 });
  const secrets = new CachedSecrets(options.secretSource ?? secretSourceFor(settings), {
    ttlMs: settings.SECRET_CACHE_TTL_SECONDS * 1000,
    minRefreshIntervalMs: settings.SECRET_MIN_REFRESH_SECONDS * 1000,
  });
  const destinations = new Destinations(secrets, storageOptions(settings));
  const quarantine = new BlobQuarantine(quarantineContainer);
  const parking = new BlobParking(parkedContainer);
  let readiness: Promise<void> | undefined;

  return {
    settings,
    registry,
    secrets,
    ready() {
      readiness ??= Promise.all([registryContainer, quarantineContainer, parkedContainer].map((c) => c.createIfNotExists())).then(
        () => undefined,
        (err) => {
          readiness = undefined;
          throw err;
        },
      );
      return readiness;
    },
    deps: (log) => ({ catalog: currentsCatalog(), integrations: registry, destinations, quarantine, parking, settings, telemetry: options.telemetry ?? logTelemetry(log), log }),
  };
}
