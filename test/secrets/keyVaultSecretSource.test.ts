import assert from "node:assert/strict";
import { Agent } from "node:https";
import { after, before, describe, it } from "node:test";
import { inspect } from "node:util";
import { SecretClient } from "@azure/keyvault-secrets";
import { KeyVaultSecretSource, SecretReadError } from "../../shared/secrets/keyVaultSecretSource";
import { SecretNotFoundError } from "../../shared/secrets/secretSource";
import { createTestCredential, KEY_VAULT_SCOPE, startKeyVaultServer, type KeyVaultServer } from "../support/keyVaultServer";

const ACCOUNT_KEY = "c2VjcmV0LWtleS1kby1ub3QtbG9nLXRoaXMtdmFsdWUtZXZlci0xMjM0NTY3ODkw==";
const CONN = `DefaultEndpointsProtocol=https;AccountName=customerstore;AccountKey=${ACCOUNT_KEY};EndpointSuffix=core.windows.net`;

/** The value must not appear anywhere in the error: message, stack, own properties, nested objects. */
function assertNoSecretIn(err: unknown, secret: string): void {
  const rendered = [inspect(err, { depth: Infinity, showHidden: true }), (err as Error).stack ?? "", JSON.stringify(err)].join("\n");
  assert.ok(!rendered.includes(secret), `error leaks the secret value: ${rendered}`);
}

describe("KeyVaultSecretSource against a local HTTPS Key Vault", () => {
  let server: KeyVaultServer;
  before(async () => {
    server = await startKeyVaultServer();
  });
  after(async () => {
    await server.close();
  });

  it("reads a secret and its version via challenge auth with the vault scope", async () => {
    const version = server.setSecret("storage-conn", CONN);
    const source = new KeyVaultSecretSource(server.url, server.credential, server.clientOptions);
    const before = server.requestCount("storage-conn");
    assert.deepEqual(await source.read("storage-conn"), { value: CONN, version });
    assert.equal(server.requestCount("storage-conn"), before + 1);
    assert.ok(server.credential.scopes.length >= 1);
    assert.deepEqual(server.credential.scopes.at(-1), [KEY_VAULT_SCOPE]);
  });

  it("reuses one SecretClient: a second read needs no new challenge", async () => {
    server.setSecret("reuse", "v");
    const source = new KeyVaultSecretSource(server.url, server.credential, server.clientOptions);
    await source.read("reuse");
    const challenges = server.challengeCount();
    await source.read("reuse");
    await source.read("reuse");
    assert.equal(server.challengeCount(), challenges);
    assert.equal(server.requestCount("reuse"), 3);
  });

  it("maps 404 SecretNotFound to SecretNotFoundError naming the secret", async () => {
    const source = new KeyVaultSecretSource(server.url, server.credential, server.clientOptions);
    await assert.rejects(source.read("does-not-exist"), (err: unknown) => {
      assert.ok(err instanceof SecretNotFoundError);
      assert.equal(err.secretName, "does-not-exist");
      assert.match(err.message, /does-not-exist/);
      return true;
    });
  });

  it("picks up a new version written with the real SecretClient.setSecret (PUT)", async () => {
    const writer = new SecretClient(server.url, server.credential, server.clientOptions);
    const first = await writer.setSecret("rotating", "value-1");
    const source = new KeyVaultSecretSource(server.url, server.credential, server.clientOptions);
    assert.deepEqual(await source.read("rotating"), { value: "value-1", version: first.properties.version });
    const second = await writer.setSecret("rotating", "value-2");
    assert.notEqual(second.properties.version, first.properties.version);
    assert.deepEqual(await source.read("rotating"), { value: "value-2", version: second.properties.version });
  });

  it("wraps service errors (503) in SecretReadError without the secret value", async () => {
    server.setSecret("outage", CONN);
    const source = new KeyVaultSecretSource(server.url, server.credential, server.clientOptions);
    await source.read("outage"); // value has definitely passed through this client
    server.failNext(1, 503);
    await assert.rejects(source.read("outage"), (err: unknown) => {
      assert.ok(err instanceof SecretReadError);
      assert.ok(!(err instanceof SecretNotFoundError));
      assert.equal(err.statusCode, 503);
      assert.equal(err.secretName, "outage");
      assert.match(err.message, /outage/);
      assertNoSecretIn(err, CONN);
      assertNoSecretIn(err, ACCOUNT_KEY);
      return true;
    });
  });

  it("redacts credentials that a service error message echoes back", async () => {
    server.setSecret("echo", CONN);
    const source = new KeyVaultSecretSource(server.url, server.credential, server.clientOptions);
    server.failNext(1, 500, `backend choked on ${CONN}`);
    await assert.rejects(source.read("echo"), (err: unknown) => {
      assert.ok(err instanceof SecretReadError);
      assert.equal(err.statusCode, 500);
      assert.match(err.message, /AccountName=customerstore;AccountKey=\[REDACTED\]/);
      assertNoSecretIn(err, ACCOUNT_KEY);
      return true;
    });
  });

  it("rejects a wrong token with 401 (surfaced as SecretReadError)", async () => {
    server.setSecret("guarded", "v");
    const wrong = createTestCredential("not-the-server-token");
    const source = new KeyVaultSecretSource(server.url, wrong, server.clientOptions);
    await assert.rejects(source.read("guarded"), (err: unknown) => {
      assert.ok(err instanceof SecretReadError);
      assert.equal(err.statusCode, 401);
      return true;
    });
    assert.ok(wrong.calls >= 1);
  });

  it("honours an abort signal", async () => {
    server.setSecret("abortable", "v");
    const source = new KeyVaultSecretSource(server.url, server.credential, server.clientOptions);
    await assert.rejects(source.read("abortable", AbortSignal.abort()), { name: "AbortError" });
  });

  describe("TLS trust configuration", () => {
    it("tlsOptions: { ca } is what makes the self-signed server trusted", async () => {
      server.setSecret("tls", "v");
      const withCa = new KeyVaultSecretSource(server.url, server.credential, server.clientOptions);
      assert.equal((await withCa.read("tls")).value, "v");

      const { tlsOptions: _omit, ...withoutCaOptions } = server.clientOptions;
      const withoutCa = new KeyVaultSecretSource(server.url, server.credential, withoutCaOptions);
      await assert.rejects(withoutCa.read("tls"), (err: unknown) => {
        assert.ok(err instanceof SecretReadError);
        assert.match(err.message, /certificate/i);
        return true;
      });
    });

    it("an https.Agent({ ca }) via the `agent` option also works (fallback)", async () => {
      server.setSecret("tls-agent", "v");
      const { tlsOptions: _omit, ...rest } = server.clientOptions;
      const agent = new Agent({ ca: server.ca });
      try {
        const source = new KeyVaultSecretSource(server.url, server.credential, { ...rest, agent });
        assert.equal((await source.read("tls-agent")).value, "v");
      } finally {
        agent.destroy();
      }
    });
  });
});
