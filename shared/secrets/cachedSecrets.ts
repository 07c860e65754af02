import { SecretNotFoundError, type SecretSource, type SecretValue } from "./secretSource";

export interface CachedSecretsOptions {
  /** How long a read value is served without asking the source again. */
  ttlMs: number;
  /**
   * refresh() re-reads at most this often per secret: a customer whose key stays wrong must not
   * cost a Key Vault read per batch (Key Vault throttles per vault, shared by all customers).
   */
  minRefreshIntervalMs?: number;
  /** Clock injection for tests. */
  now?: () => number;
}

export interface CachedSecretsStats {
  /** Calls made to the underlying source. */
  reads: number;
  /** get/refresh calls answered without starting a source read (fresh cache, joined in-flight read, or already-refreshed). */
  hits: number;
}

interface Entry {
  secret: SecretValue;
  fetchedAt: number;
}

/**
 * TTL cache in front of a SecretSource, so hot paths do not hit Key Vault per delivery, with:
 * - single-flight: concurrent get/refresh for one name share a single source read (no stampede
 *   when many deliveries hit a storage auth failure at once after a rotation);
 * - refresh(): forced re-read after a storage auth failure so a rotated secret is picked up
 *   without a restart.
 */
export class CachedSecrets {
  private readonly ttlMs: number;
  private readonly minRefreshIntervalMs: number;
  private readonly now: () => number;
  private readonly cache = new Map<string, Entry>();
  private readonly inFlight = new Map<string, Promise<SecretValue>>();
  private reads = 0;
  private hits = 0;

  constructor(
    private readonly source: SecretSource,
    options: CachedSecretsOptions,
  ) {
    if (!Number.isFinite(options.ttlMs) || options.ttlMs < 0) throw new RangeError("ttlMs must be a finite number >= 0");
    this.ttlMs = options.ttlMs;
    this.minRefreshIntervalMs = options.minRefreshIntervalMs ?? 0;
    this.now = options.now ?? Date.now;
  }

  async get(name: string): Promise<SecretValue> {
    const entry = this.cache.get(name);
    if (entry && this.now() - entry.fetchedAt < this.ttlMs) {
      this.hits++;
      return entry.secret;
    }
    try {
      return await this.readShared(name);
    } catch (err) {
      // Availability over freshness: if Key Vault is down (or throttling) we keep serving the
      // last value we had, so an outage does not stop deliveries. A NotFound is authoritative
      // (the secret was deleted), so it is not masked. The failure is not cached: the next
      // call tries the source again.
      const stale = this.cache.get(name);
      if (stale && !(err instanceof SecretNotFoundError)) return stale.secret;
      throw err;
    }
  }

  /**
   * Forces a re-read (e.g. after a storage 403 suggests the connection string was rotated).
   * Pass the version that failed as `staleVersion`: if the cache already holds a different
   * version, someone else refreshed already and that value is returned without a read.
   * Unlike get(), failures are thrown rather than masked by the stale value: the caller
   * already knows that value is bad.
   */
  async refresh(name: string, staleVersion?: string): Promise<SecretValue> {
    const entry = this.cache.get(name);
    const alreadyNewer = entry !== undefined && staleVersion !== undefined && entry.secret.version !== staleVersion;
    const justRead = entry !== undefined && this.now() - entry.fetchedAt < this.minRefreshIntervalMs;
    if (entry && (alreadyNewer || justRead)) {
      this.hits++;
      return entry.secret;
    }
    return this.readShared(name);
  }

  stats(): CachedSecretsStats {
    return { reads: this.reads, hits: this.hits };
  }

  private readShared(name: string): Promise<SecretValue> {
    const pending = this.inFlight.get(name);
    if (pending) {
      this.hits++;
      return pending;
    }
    this.reads++;
    // new Promise(...) also captures a synchronous throw from a non-async source.
    const read = new Promise<SecretValue>((resolve) => resolve(this.source.read(name)))
      .then(
        (secret) => {
          this.cache.set(name, { secret, fetchedAt: this.now() });
          return secret;
        },
        (err: unknown) => {
          // A deleted secret must stop being served, even as a stale fallback.
          if (err instanceof SecretNotFoundError) this.cache.delete(name);
          throw err;
        },
      )
      .finally(() => this.inFlight.delete(name));
    this.inFlight.set(name, read);
    return read;
  }
}
