import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { redactSecrets } from "../../shared/secrets/redact";

const KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

describe("redactSecrets", () => {
  it("masks AccountKey but keeps account name and endpoints", () => {
    const conn = `DefaultEndpointsProtocol=https;AccountName=acmestore;AccountKey=${KEY};EndpointSuffix=core.windows.net`;
    const out = redactSecrets(`failed with ${conn} (403)`);
    assert.ok(!out.includes(KEY));
    assert.equal(
      out,
      "failed with DefaultEndpointsProtocol=https;AccountName=acmestore;AccountKey=[REDACTED];EndpointSuffix=core.windows.net (403)",
    );
  });

  it("masks a SharedAccessSignature connection string (SAS contains & and =)", () => {
    const sas = "sv=2022-11-02&ss=b&srt=co&sp=rwc&se=2030-01-01T00:00:00Z&spr=https&sig=AbC%2Fdef%3D";
    const conn = `BlobEndpoint=https://acmestore.blob.core.windows.net/;SharedAccessSignature=${sas}`;
    const out = redactSecrets(conn);
    assert.equal(out, "BlobEndpoint=https://acmestore.blob.core.windows.net/;SharedAccessSignature=[REDACTED]");
  });

  it("masks sig= in SAS URLs and bare SAS tokens, leaving other parameters", () => {
    const url = "https://acmestore.blob.core.windows.net/c/b.avro?sv=2022-11-02&sp=r&sig=AbC%2Fdef%3D&se=2030-01-01";
    assert.equal(redactSecrets(url), "https://acmestore.blob.core.windows.net/c/b.avro?sv=2022-11-02&sp=r&sig=[REDACTED]&se=2030-01-01");
    assert.equal(redactSecrets("sig=xyz&sv=1"), "sig=[REDACTED]&sv=1");
    assert.equal(redactSecrets("design=ok&signal=1"), "design=ok&signal=1");
  });

  it("masks SharedAccessKey and is case-insensitive; handles several occurrences", () => {
    const text =
      "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=root;SharedAccessKey=abc123=;EntityPath=q " +
      `accountkey=${KEY} ACCOUNTKEY=${KEY}`;
    const out = redactSecrets(text);
    assert.ok(!out.includes(KEY) && !out.includes("abc123"));
    assert.match(out, /SharedAccessKeyName=root;SharedAccessKey=\[REDACTED\];EntityPath=q/);
    assert.match(out, /accountkey=\[REDACTED\] ACCOUNTKEY=\[REDACTED\]$/);
  });

  it("masks bearer tokens and leaves ordinary text alone", () => {
    assert.equal(redactSecrets("Authorization: Bearer eyJ0eXAi.abc-def_g"), "Authorization: Bearer [REDACTED]");
    const plain = "AccountName=acmestore; container=events; nothing secret here";
    assert.equal(redactSecrets(plain), plain);
  });
});
