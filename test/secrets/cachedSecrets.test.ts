import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { inspect } from "node:util";
import { CachedSecrets } from "../../shared/secrets/cachedSecrets";
import { KeyVaultSecretSource, SecretReadError } from "../../shared/secrets/keyVaultSecretSource";
import { SecretNotFoundError, type SecretSource, type SecretValue } from "../../shared/secrets/secretSource";
import { startKeyVaultServer, type KeyVaultServer } from "../support/keyVaultServer";

const TTL = 60_000;
const connString = (key: string) => `DefaultEndpointsProtocol=https;AccountName=acme;AccountKey=${key};EndpointSuffix=core.windows.net`;

function assertNoSecretIn(err: unknown, secret: string): void {
  const rendered = [inspect(err, { depth: Infinity, showHidden: true }), (err as Error).stack ?? "", JSON.stringify(err)].join("\n");
  assert.ok(!rendered.includes(secret), `error leaks the secret value: ${rendered}`);
}

/** Manually advanced clock for TTL tests. */
function fakeClock(start = 1_000_000) {
  let t = start;
  return { now: () => t, advance: (ms: number) => void (t += ms) };
}

describe("CachedSecrets over KeyVaultSecretSource (real SecretClient, local HTTPS vault)", () => {
  let server: KeyVaultServer;
  let source: KeyVaultSecretSource;
  before(async () => {
    server = await startKeyVaultServer();
    source = new KeyVaultSecretSource(server.url, server.credential, server.clientOptions);
  });
  after(async () => {
    await server.close();
  });

  it("serves from cache within the TTL (one server GET for many gets)", async () => {
    const version = server.setSecret("ttl-hit", "value-a");
    const clock = fakeClock();
    const cache = new CachedSecrets(source, { ttlMs: TTL, now: clock.now });
    for (let i = 0; i < 5; i++) {
      assert.deepEqual(await cache.get("ttl-hit"), { value: "value-a", version });
      clock.advance(TTL / 10);
    }
    assert.equal(server.requestCount("ttl-hit"), 1);
    assert.deepEqual(cache.stats(), { reads: 1, hits: 4 });
  });

  it("re-reads once the TTL has expired", async () => {
    server.setSecret("ttl-expiry", "old");
    const clock = fakeClock();
    const cache = new CachedSecrets(source, { ttlMs: TTL, now: clock.now });
    assert.equal((await cache.get("ttl-expiry")).value, "old");
    const newVersion = server.setSecret("ttl-expiry", "new");
    clock.advance(TTL - 1);
    assert.equal((await cache.get("ttl-expiry")).value, "old");
    assert.equal(server.requestCount("ttl-expiry"), 1);
    clock.advance(1);
    assert.deepEqual(await cache.get("ttl-expiry"), { value: "new", version: newVersion });
    assert.equal(server.requestCount("ttl-expiry"), 2);
    assert.deepEqual(cache.stats(), { reads: 2, hits: 1 });
  });

  it("rotation: get within TTL keeps the old value, refresh(staleVersion) picks up the new one", async () => {
    const v1 = server.setSecret("rotate", connString("KEY1"));
    const cache = new CachedSecrets(source, { ttlMs: TTL, now: fakeClock().now });
    assert.deepEqual(await cache.get("rotate"), { value: connString("KEY1"), version: v1 });

    const v2 = server.setSecret("rotate", connString("KEY2"));
    assert.equal((await cache.get("rotate")).version, v1, "within TTL: no re-read");
    assert.equal(server.requestCount("rotate"), 1);

    // A storage call failed with v1's credentials -> refresh.
    assert.deepEqual(await cache.refresh("rotate", v1), { value: connString("KEY2"), version: v2 });
    assert.equal(server.requestCount("rotate"), 2);
    assert.equal((await cache.get("rotate")).version, v2);

    // A late caller that also failed with v1 gets v2 without another Key Vault read.
    assert.equal((await cache.refresh("rotate", v1)).version, v2);
    assert.equal(server.requestCount("rotate"), 2);

    // refresh without staleVersion always reads.
    await cache.refresh("rotate");
    assert.equal(server.requestCount("rotate"), 3);
  });

  it("20 concurrent get/refresh calls share exactly one server GET", async () => {
    const version = server.setSecret("stampede", "shared-value");
    const cache = new CachedSecrets(source, { ttlMs: TTL });
    const calls = Array.from({ length: 20 }, (_, i) =>
      i % 3 === 0 ? cache.refresh("stampede") : i % 3 === 1 ? cache.refresh("stampede", "some-old-version") : cache.get("stampede"),
    );
    const results = await Promise.all(calls);
    for (const r of results) assert.deepEqual(r, { value: "shared-value", version });
    assert.equal(server.requestCount("stampede"), 1);
    assert.deepEqual(cache.stats(), { reads: 1, hits: 19 });
  });

  it("20 concurrent refreshes after a rotation also cause exactly one GET", async () => {
    const v1 = server.setSecret("stampede-2", "v1-value");
    const cache = new CachedSecrets(source, { ttlMs: TTL });
    await cache.get("stampede-2");
    const v2 = server.setSecret("stampede-2", "v2-value");
    const results = await Promise.all(Array.from({ length: 20 }, () => cache.refresh("stampede-2", v1)));
    for (const r of results) assert.equal(r.version, v2);
    assert.equal(server.requestCount("stampede-2"), 2);
  });

  it("refresh re-reads at most once per minRefreshIntervalMs (a key that stays wrong costs no read per batch)", async () => {
    server.setSecret("min-refresh", "wrong-key");
    const clock = fakeClock();
    const cache = new CachedSecrets(source, { ttlMs: TTL, minRefreshIntervalMs: 30_000, now: clock.now });
    const first = await cache.get("min-refresh");
    const before = server.requestCount("min-refresh");
    for (let i = 0; i < 10; i++) await cache.refresh("min-refresh", first.version);
    assert.equal(server.requestCount("min-refresh"), before, "no reads within the interval");
    const fixed = server.setSecret("min-refresh", "right-key");
    clock.advance(30_000);
    assert.equal((await cache.refresh("min-refresh", first.version)).version, fixed);
    assert.equal(server.requestCount("min-refresh"), before + 1);
  });

  it("503 on re-read with a stale cached value: get serves the stale value, refresh throws, failure not cached", async () => {
    const secret = connString("STALE-KEY-abc123==");
    const v1 = server.setSecret("outage", secret);
    const clock = fakeClock();
    const cache = new CachedSecrets(source, { ttlMs: TTL, now: clock.now });
    await cache.get("outage");
    clock.advance(TTL);

    server.failNext(2, 503);
    assert.deepEqual(await cache.get("outage"), { value: secret, version: v1 }, "stale value served during outage");
    assert.equal(server.requestCount("outage"), 2);

    await assert.rejects(cache.refresh("outage", v1), (err: unknown) => {
      assert.ok(err instanceof SecretReadError);
      assert.equal(err.statusCode, 503);
      assertNoSecretIn(err, secret);
      assertNoSecretIn(err, "STALE-KEY-abc123==");
      return true;
    });

    // Vault is back: the failure was not cached, the next get reads again.
    const v2 = server.setSecret("outage", "recovered");
    assert.deepEqual(await cache.get("outage"), { value: "recovered", version: v2 });
    assert.equal(server.requestCount("outage"), 4);
  });

  it("a failed first read (no stale value) throws and the next call retries", async () => {
    server.setSecret("cold-outage", "value");
    const cache = new CachedSecrets(source, { ttlMs: TTL });
    server.failNext(1, 503);
    await assert.rejects(cache.get("cold-outage"), SecretReadError);
    assert.equal((await cache.get("cold-outage")).value, "value");
    assert.equal(server.requestCount("cold-outage"), 2);
    assert.deepEqual(cache.stats(), { reads: 2, hits: 0 });
  });

  it("NotFound is not masked by a stale value and evicts it", async () => {
    server.setSecret("deleted", "old-value");
    const clock = fakeClock();
    const cache = new CachedSecrets(source, { ttlMs: TTL, now: clock.now });
    await cache.get("deleted");
    clock.advance(TTL);
    server.failNext(1, 404); // vault answers 404 for the re-read (secret deleted)
    await assert.rejects(cache.get("deleted"), (err: unknown) => {
      assert.ok(err instanceof SecretNotFoundError);
      assert.equal(err.secretName, "deleted");
      assertNoSecretIn(err, "old-value");
      return true;
    });
    // Next read goes to the vault again (nothing cached, no stale fallback).
    server.failNext(1, 503);
    await assert.rejects(cache.get("deleted"), SecretReadError);
  });

  it("a secret that never existed raises SecretNotFoundError and is retried next time", async () => {
    const cache = new CachedSecrets(source, { ttlMs: TTL });
    await assert.rejects(cache.get("never-existed"), SecretNotFoundError);
    await assert.rejects(cache.get("never-existed"), SecretNotFoundError);
    assert.equal(server.requestCount("never-existed"), 2);
  });
});

describe("CachedSecrets (unit)", () => {
  it("captures a synchronous throw from a source and does not wedge the in-flight slot", async () => {
    let fail = true;
    const source: SecretSource = {
      read(): Promise<SecretValue> {
        if (fail) throw new Error("sync boom");
        return Promise.resolve({ value: "ok", version: "1" });
      },
    };
    const cache = new CachedSecrets(source, { ttlMs: TTL });
    await assert.rejects(cache.get("x"), /sync boom/);
    fail = false;
    assert.equal((await cache.get("x")).value, "ok");
  });

  it("rejects an invalid ttl", () => {
    const source: SecretSource = { read: async () => ({ value: "", version: "" }) };
    assert.throws(() => new CachedSecrets(source, { ttlMs: -1 }), RangeError);
    assert.throws(() => new CachedSecrets(source, { ttlMs: Number.NaN }), RangeError);
  });
});
