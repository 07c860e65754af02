import { DefaultAzureCredential, type TokenCredential } from "@azure/identity";
import { isRestError, SecretClient, type SecretClientOptions } from "@azure/keyvault-secrets";
import { redactSecrets } from "./redact";
import { SecretNotFoundError, type SecretSource, type SecretValue } from "./secretSource";

/**
 * A Key Vault read failed for a reason other than "not found". Built from scratch (no `cause`)
 * so the SDK's request/response objects, which can carry secret material, never travel with it.
 */
export class SecretReadError extends Error {
  override readonly name = "SecretReadError";

  constructor(
    readonly secretName: string,
    message: string,
    readonly statusCode?: number,
    readonly code?: string,
  ) {
    super(redactSecrets(`Reading secret "${secretName}" failed: ${message}`));
  }
}

/** Reads secrets from Azure Key Vault through one long-lived SecretClient (keeps its token cache and connections). */
export class KeyVaultSecretSource implements SecretSource {
  private readonly client: SecretClient;

  constructor(vaultUrl: string, credential: TokenCredential, clientOptions?: SecretClientOptions) {
    this.client = new SecretClient(vaultUrl, credential, clientOptions);
  }

  async read(name: string, signal?: AbortSignal): Promise<SecretValue> {
    let secret;
    try {
      secret = await this.client.getSecret(name, { abortSignal: signal });
    } catch (err) {
      throw toSafeError(name, err);
    }
    // A disabled secret can come back without a value; treat it as unusable rather than "".
    if (secret.value === undefined || !secret.properties.version) {
      throw new SecretReadError(name, "Key Vault returned no value or version");
    }
    return { value: secret.value, version: secret.properties.version };
  }
}

function toSafeError(name: string, err: unknown): Error {
  if (isRestError(err)) {
    if (err.statusCode === 404 || err.code === "SecretNotFound") return new SecretNotFoundError(name);
    return new SecretReadError(name, `${err.statusCode ?? "no status"} ${err.code ?? ""} ${err.message}`.trim(), err.statusCode, err.code);
  }
  // Aborts carry no secret data and callers match on the name, so pass them through.
  if (err instanceof Error && err.name === "AbortError") return err;
  const message = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
  return new SecretReadError(name, message);
}

/** Production wiring: DefaultAzureCredential resolves to the Function App's managed identity in Azure. */
export function createKeyVaultSecretSource(vaultUrl: string, clientOptions?: SecretClientOptions): KeyVaultSecretSource {
  return new KeyVaultSecretSource(vaultUrl, new DefaultAzureCredential(), clientOptions);
}
