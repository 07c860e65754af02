/**
 * Minimal abstraction over "where secrets come from" so the delivery code does not care
 * whether it runs against Key Vault (Azure) or a JSON file (local dev / tests).
 */

export interface SecretValue {
  value: string;
  /** Opaque version id; changes whenever the value is rotated. */
  version: string;
}

export interface SecretSource {
  read(name: string, signal?: AbortSignal): Promise<SecretValue>;
}

/** The named secret does not exist. The message names the secret, never a value. */
export class SecretNotFoundError extends Error {
  override readonly name = "SecretNotFoundError";

  constructor(readonly secretName: string) {
    super(`Secret "${secretName}" was not found`);
  }
}
