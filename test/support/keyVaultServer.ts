/**
 * Local HTTPS stand-in for the Key Vault secrets REST API, so tests drive the real SecretClient
 * (challenge auth, TLS, URL building, error parsing) instead of a stubbed class.
 * Only what getSecret/setSecret need is implemented.
 */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:https";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AccessToken, GetTokenOptions, TokenCredential } from "@azure/identity";
import type { SecretClientOptions } from "@azure/keyvault-secrets";

export const TEST_TENANT_ID = "00000000-0000-0000-0000-00000000c0de";
export const KEY_VAULT_SCOPE = "https://vault.azure.net/.default";

// ---------------------------------------------------------------------------------------------
// Credential

export interface TestCredential extends TokenCredential {
  readonly token: string;
  /** Number of getToken calls. */
  readonly calls: number;
  /** Scopes requested, one array per call. */
  readonly scopes: string[][];
}

/** Plain TokenCredential handing out one fixed token (valid for an hour), counting calls. */
export function createTestCredential(token = `test-token-${randomBytes(8).toString("hex")}`): TestCredential {
  const scopes: string[][] = [];
  return {
    token,
    get calls() {
      return scopes.length;
    },
    scopes,
    async getToken(requested: string | string[], _options?: GetTokenOptions): Promise<AccessToken> {
      scopes.push(Array.isArray(requested) ? [...requested] : [requested]);
      return { token, expiresOnTimestamp: Date.now() + 60 * 60 * 1000 };
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Throwaway certificates (generated at test time; nothing committed)

export interface TestCerts {
  ca: string;
  cert: string;
  key: string;
}

let cachedCerts: TestCerts | undefined;

/** CA + server cert for 127.0.0.1/localhost via the openssl CLI, cached per process. */
export function generateTestCerts(): TestCerts {
  if (cachedCerts) return cachedCerts;
  const dir = mkdtempSync(join(tmpdir(), "kv-test-certs-"));
  const f = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: ["ignore", "ignore", "pipe"] });
  try {
    const ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    openssl("req", "-x509", ...ecKey, "-keyout", f("ca.key"), "-out", f("ca.pem"), "-days", "2",
      "-subj", "/CN=currents-blob test CA",
      "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign");
    openssl("req", ...ecKey, "-keyout", f("server.key"), "-out", f("server.csr"), "-subj", "/CN=localhost");
    writeFileSync(f("ext.cnf"), [
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "basicConstraints=CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
    ].join("\n"));
    openssl("x509", "-req", "-in", f("server.csr"), "-CA", f("ca.pem"), "-CAkey", f("ca.key"),
      "-set_serial", `0x${randomBytes(8).toString("hex")}`, "-days", "2", "-extfile", f("ext.cnf"), "-out", f("server.pem"));
    cachedCerts = {
      ca: readFileSync(f("ca.pem"), "utf8"),
      cert: readFileSync(f("server.pem"), "utf8"),
      key: readFileSync(f("server.key"), "utf8"),
    };
    return cachedCerts;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------
// Server

export interface KeyVaultServer {
  /** Vault URL, e.g. https://127.0.0.1:12345 */
  readonly url: string;
  /** PEM of the CA that signed the server certificate. */
  readonly ca: string;
  /** Credential whose token the server accepts. */
  readonly credential: TestCredential;
  /** Options a SecretClient needs to talk to this server (trusted CA, no retries, local challenge resource). */
  readonly clientOptions: SecretClientOptions;
  /** Stores a new version directly (bypassing HTTP); returns the version id. */
  setSecret(name: string, value: string): string;
  /** Authenticated GETs that reached the secrets handler (unauthenticated challenge round-trips excluded). */
  requestCount(name?: string): number;
  /** Unauthenticated requests answered with the 401 challenge. */
  challengeCount(): number;
  /** The next `n` authenticated secret requests fail with `status` and a JSON error body (optional message). */
  failNext(n: number, status: number, message?: string): void;
  close(): Promise<void>;
}

interface StoredVersion {
  version: string;
  value: string;
  created: number;
}

export async function startKeyVaultServer(options: { credential?: TestCredential } = {}): Promise<KeyVaultServer> {
  const certs = generateTestCerts();
  const credential = options.credential ?? createTestCredential();
  const secrets = new Map<string, StoredVersion[]>();
  const gets: string[] = [];
  let challenges = 0;
  let failures = { remaining: 0, status: 503, message: "Injected failure" };
  let baseUrl = "";

  const store = (name: string, value: string): StoredVersion => {
    const entry = { version: randomBytes(16).toString("hex"), value, created: Math.floor(Date.now() / 1000) };
    secrets.set(name, [...(secrets.get(name) ?? []), entry]);
    return entry;
  };
  const bundle = (name: string, s: StoredVersion) => ({
    value: s.value,
    id: `${baseUrl}/secrets/${name}/${s.version}`,
    attributes: { enabled: true, created: s.created, updated: s.created, recoveryLevel: "Recoverable+Purgeable" },
  });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const body = await readBody(req);
    const url = new URL(req.url ?? "/", baseUrl);
    const auth = req.headers.authorization;
    if (!auth) {
      // The SDK's first request carries no token; the challenge tells it which tenant/resource to ask for.
      challenges++;
      res.setHeader(
        "WWW-Authenticate",
        `Bearer authorization="https://login.microsoftonline.com/${TEST_TENANT_ID}", resource="https://vault.azure.net"`,
      );
      return sendError(res, 401, "Unauthorized", "AKV10000: Request is missing a Bearer or PoP token.");
    }
    if (auth !== `Bearer ${credential.token}`) {
      return sendError(res, 401, "Unauthorized", "AKV10032: Invalid token.");
    }
    if (!url.searchParams.get("api-version")) {
      return sendError(res, 400, "BadParameter", "api-version is required");
    }
    const match = /^\/secrets\/([0-9A-Za-z-]+)(?:\/([0-9a-f]*))?\/?$/.exec(url.pathname);
    if (!match) return sendError(res, 404, "NotFound", "Unknown path");
    const [, name, version] = match as unknown as [string, string, string | undefined];

    if (req.method === "GET") gets.push(name);
    if (failures.remaining > 0) {
      failures.remaining--;
      return sendError(res, failures.status, "ServiceUnavailable", failures.message);
    }

    if (req.method === "GET") {
      const versions = secrets.get(name) ?? [];
      const found = version ? versions.find((v) => v.version === version) : versions.at(-1);
      if (!found) return sendError(res, 404, "SecretNotFound", `A secret with (name/id) ${name} was not found in this key vault.`);
      return sendJson(res, 200, bundle(name, found));
    }
    if (req.method === "PUT" && !version) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body);
      } catch {
        return sendError(res, 400, "BadParameter", "Body is not JSON");
      }
      const value = (parsed as { value?: unknown } | null)?.value;
      if (typeof value !== "string") return sendError(res, 400, "BadParameter", "value is required");
      return sendJson(res, 200, bundle(name, store(name, value)));
    }
    return sendError(res, 405, "MethodNotAllowed", `${req.method} not supported`);
  };

  const server: Server = createServer({ cert: certs.cert, key: certs.key }, (req, res) => {
    handle(req, res).catch((err: unknown) => {
      if (!res.headersSent) sendError(res, 500, "InternalError", String(err));
      else res.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  baseUrl = `https://127.0.0.1:${port}`;

  return {
    url: baseUrl,
    ca: certs.ca,
    credential,
    clientOptions: {
      // The challenge names vault.azure.net, which 127.0.0.1 is not a subdomain of.
      disableChallengeResourceVerification: true,
      retryOptions: { maxRetries: 0 },
      tlsOptions: { ca: certs.ca },
    },
    setSecret: (name, value) => store(name, value).version,
    requestCount: (name) => (name === undefined ? gets.length : gets.filter((n) => n === name).length),
    challengeCount: () => challenges,
    failNext: (n, status, message = "Injected failure") => {
      failures = { remaining: n, status, message };
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // The SDK keeps connections alive; drop them so close() completes promptly.
        server.closeAllConnections();
      }),
  };
}


function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    req.on("error", reject);
  });
}

function sendJson(res: ServerResponse, status: number, payload: unknown): void {
  const body = JSON.stringify(payload);
  res.writeHead(status, { "Content-Type": "application/json; charset=utf-8", "Content-Length": Buffer.byteLength(body) });
  res.end(body);
}

// Key Vault always returns a JSON error body; the SDK throws a TypeError if a 404 has none.
function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  sendJson(res, status, { error: { code, message } });
}
