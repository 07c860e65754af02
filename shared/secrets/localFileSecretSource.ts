import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { SecretNotFoundError, type SecretSource, type SecretValue } from "./secretSource";

/**
 * Local-dev stand-in for Key Vault: a JSON file `{ "<secretName>": "<value>" }`.
 * The file is re-read on every call so editing it simulates a rotation; the version is derived
 * from the value so it changes exactly when the value does.
 */
export class LocalFileSecretSource implements SecretSource {
  constructor(readonly filePath: string) {}

  async read(name: string, signal?: AbortSignal): Promise<SecretValue> {
    const secrets = await this.load(signal);
    if (!Object.hasOwn(secrets, name)) throw new SecretNotFoundError(name);
    const value = secrets[name];
    if (typeof value !== "string") {
      throw new Error(`Local secrets file ${this.filePath}: secret "${name}" must be a string`);
    }
    return { value, version: versionOf(value) };
  }

  private async load(signal?: AbortSignal): Promise<Record<string, unknown>> {
    let text: string;
    try {
      text = await readFile(this.filePath, { encoding: "utf8", signal });
    } catch (err) {
      if (err instanceof Error && err.name === "AbortError") throw err;
      const code = (err as NodeJS.ErrnoException).code ?? "unknown error";
      throw new Error(`Cannot read local secrets file ${this.filePath} (${code})`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      // JSON.parse messages quote the input, which would leak secret values; say only where.
      throw new Error(`Local secrets file ${this.filePath} is not valid JSON`);
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw new Error(`Local secrets file ${this.filePath} must contain a JSON object of name -> value`);
    }
    return parsed as Record<string, unknown>;
  }
}

export function versionOf(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex").slice(0, 16);
}
