import { z } from 'zod';

/**
 * Every app setting the app reads, in one place, validated once.
 * Each one is documented in docs/settings.md and listed in local.settings.sample.json.
 */
const positiveInt = (fallback: number) => z.coerce.number().int().positive().default(fallback);

const settingsSchema = z
  .object({
    CURRENTS_EVENTS_QUEUE: z.string().min(1).default('currents-events'),
    APP_STORAGE_CONNECTION_STRING: z.string().min(1).optional(),
    APP_STORAGE_ACCOUNT_URL: z.string().url().optional(),
    KEY_VAULT_URL: z.string().url().optional(),
    LOCAL_SECRETS_FILE: z.string().min(1).optional(),
    SECRET_CACHE_TTL_SECONDS: positiveInt(300),
    SECRET_MIN_REFRESH_SECONDS: z.coerce.number().int().min(0).default(30),
    REGISTRY_CACHE_TTL_SECONDS: positiveInt(30),
    CURRENTS_CLUSTER: z.string().regex(/^[a-z0-9-]{1,40}$/).default('prod-01'),
    CURRENTS_ENVIRONMENT: z.string().regex(/^[a-z0-9-]{1,40}$/).default('us-01'),
    CURRENTS_VERSION: positiveInt(10),
    MAX_EVENTS_PER_FILE: z.coerce.number().int().min(1).max(100_000).default(15_000),
    MAX_EVENT_BYTES: positiveInt(900 * 1024),
    DESTINATION_CONCURRENCY: positiveInt(8),
    STORAGE_TRY_TIMEOUT_SECONDS: positiveInt(30),
    STORAGE_MAX_TRIES: positiveInt(4),
    REGISTRY_CONTAINER: z.string().default('currents-integrations'),
    QUARANTINE_CONTAINER: z.string().default('currents-quarantine'),
    PARKED_CONTAINER: z.string().default('currents-parked'),
  })
  .refine((s) => s.APP_STORAGE_CONNECTION_STRING || s.APP_STORAGE_ACCOUNT_URL, {
    message: 'set APP_STORAGE_CONNECTION_STRING (local) or APP_STORAGE_ACCOUNT_URL (managed identity)',
    path: ['APP_STORAGE_CONNECTION_STRING'],
  })
  .refine((s) => s.KEY_VAULT_URL || s.LOCAL_SECRETS_FILE, {
    message: 'set KEY_VAULT_URL (Azure) or LOCAL_SECRETS_FILE (local runs)',
    path: ['KEY_VAULT_URL'],
  });

export type Settings = z.infer<typeof settingsSchema>;

export class SettingsError extends Error {}

/** Reads settings from an environment; the message names each bad setting (never its value). */
export function loadSettings(env: NodeJS.ProcessEnv = process.env): Settings {
  const picked: Record<string, string | undefined> = {};
  for (const key of Object.keys(settingsSchema.shape)) {
    const value = env[key];
    if (value !== undefined && value !== '') picked[key] = value;
  }
  const parsed = settingsSchema.safeParse(picked);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.') || 'settings'}: ${i.message}`);
    throw new SettingsError(`invalid app settings — ${problems.join('; ')}`);
  }
  return parsed.data;
}
