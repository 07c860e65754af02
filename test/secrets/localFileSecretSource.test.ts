import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { CachedSecrets } from "../../shared/secrets/cachedSecrets";
import { LocalFileSecretSource } from "../../shared/secrets/localFileSecretSource";
import { SecretNotFoundError } from "../../shared/secrets/secretSource";

const dir = mkdtempSync(join(tmpdir(), "local-secrets-"));
const sha16 = (v: string) => createHash("sha256").update(v).digest("hex").slice(0, 16);

describe("LocalFileSecretSource", () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("reads a value with a sha256-derived version, and picks up edits (rotation)", async () => {
    const file = join(dir, "secrets.json");
    writeFileSync(file, JSON.stringify({ "storage-conn": "first" }));
    const source = new LocalFileSecretSource(file);
    const first = await source.read("storage-conn");
    assert.deepEqual(first, { value: "first", version: sha16("first") });
    assert.match(first.version, /^[0-9a-f]{16}$/);

    writeFileSync(file, JSON.stringify({ "storage-conn": "second" }));
    const second = await source.read("storage-conn");
    assert.deepEqual(second, { value: "second", version: sha16("second") });
    assert.notEqual(second.version, first.version);
  });

  it("works with CachedSecrets.refresh for local rotation", async () => {
    const file = join(dir, "rotate.json");
    writeFileSync(file, JSON.stringify({ conn: "one" }));
    const cache = new CachedSecrets(new LocalFileSecretSource(file), { ttlMs: 60_000 });
    const v1 = await cache.get("conn");
    writeFileSync(file, JSON.stringify({ conn: "two" }));
    assert.equal((await cache.get("conn")).value, "one");
    assert.equal((await cache.refresh("conn", v1.version)).value, "two");
  });

  it("missing name -> SecretNotFoundError", async () => {
    const file = join(dir, "names.json");
    writeFileSync(file, JSON.stringify({ a: "1" }));
    await assert.rejects(new LocalFileSecretSource(file).read("b"), (err: unknown) => {
      assert.ok(err instanceof SecretNotFoundError);
      assert.equal(err.secretName, "b");
      return true;
    });
    // Prototype keys are not secrets.
    await assert.rejects(new LocalFileSecretSource(file).read("toString"), SecretNotFoundError);
  });

  it("missing file -> error naming the path", async () => {
    const file = join(dir, "nope.json");
    await assert.rejects(new LocalFileSecretSource(file).read("a"), (err: Error) => {
      assert.ok(err.message.includes(file));
      assert.match(err.message, /ENOENT/);
      return true;
    });
  });

  it("invalid JSON -> error naming the path and not quoting the content", async () => {
    const file = join(dir, "broken.json");
    writeFileSync(file, '{ "conn": "AccountKey=TOPSECRET" ');
    await assert.rejects(new LocalFileSecretSource(file).read("conn"), (err: Error) => {
      assert.ok(err.message.includes(file));
      assert.match(err.message, /not valid JSON/);
      assert.ok(!err.message.includes("TOPSECRET"));
      return true;
    });
  });

  it("non-object JSON and non-string values are rejected clearly", async () => {
    const arr = join(dir, "array.json");
    writeFileSync(arr, "[]");
    await assert.rejects(new LocalFileSecretSource(arr).read("a"), (err: Error) => err.message.includes(arr));
    const num = join(dir, "number.json");
    writeFileSync(num, JSON.stringify({ a: 12345 }));
    await assert.rejects(new LocalFileSecretSource(num).read("a"), (err: Error) => {
      assert.match(err.message, /"a" must be a string/);
      assert.ok(!err.message.includes("12345"));
      return true;
    });
  });
});
