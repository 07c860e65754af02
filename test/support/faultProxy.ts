import http from 'node:http';
import type { Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { azuriteConnectionString, AZURITE_ACCOUNT } from '../../shared/local/azurite';

/**
 * A real HTTP proxy on 127.0.0.1 (random port) in front of a Blob endpoint (Azurite), that injects
 * the failures Azure Storage and the network really produce, request by request:
 *
 * - `server-busy`     503 + `x-ms-error-code: ServerBusy` + Azure's XML error body (throttling); not forwarded
 * - `internal-error`  500 InternalError; not forwarded
 * - `auth-failed`     403 AuthenticationFailed (what a revoked/rotated key looks like); not forwarded
 * - `reset-before`    TCP RST as soon as the request head arrives: nothing reached storage
 * - `reset-after`     the request is forwarded and storage answers (a write *happened*), then the client
 *                     connection is reset instead of the answer: the client cannot know it succeeded
 * - `stall-before`    nothing forwarded, no answer: held until the client gives up (or `maxStallMs`)
 * - `stall-after`     forwarded (the write happened), the answer withheld until the client gives up
 *
 * A stall the client never abandons is released by the proxy after `maxStallMs` with a reset, and
 * counted in `stats.stalls.outlastedClient`: a client without a working per-try timeout shows up as a
 * number instead of a hung test.
 *
 * The fault for each request comes from a plan (`setPlan`): bursts every k requests, a range of
 * request numbers, a time window, restricted to some operations. Every decision is counted.
 */
export type FaultKind = 'pass' | 'server-busy' | 'internal-error' | 'auth-failed' | 'reset-before' | 'reset-after' | 'stall-before' | 'stall-after';

/** What the Blob operation is (from method and query), so plans can target writes, listings… */
export type BlobOp = 'put-blob' | 'list-blobs' | 'get-properties' | 'get-blob' | 'create-container' | 'container-properties' | 'other';

export interface RequestInfo {
  /** 0-based number of this request among all requests the proxy has seen. */
  n: number;
  /** ms since the proxy started. */
  at: number;
  method: string;
  path: string;
  op: BlobOp;
}

/** Decides the fault for one request. Called once per request, in arrival order. */
export type FaultPlan = (req: RequestInfo) => FaultKind;

export interface FaultStats {
  requests: number;
  /** Requests per fault kind (including `pass`). */
  byKind: Record<FaultKind, number>;
  /** Requests and injected faults per operation. */
  byOp: Record<string, { requests: number; faults: number }>;
  /** Writes (PUT blob) that storage accepted (2xx) but whose answer the client never got (reset-after / stall-after). */
  writesCommittedAnswerLost: number;
  stalls: {
    /** The client gave up (its timeout fired) while the proxy held the request. */
    abandonedByClient: number;
    /** The client was still waiting when the proxy released it after maxStallMs: the client has no effective timeout. */
    outlastedClient: number;
    /** Longest time a client waited on a stalled request before giving up or being released, ms. */
    maxHeldMs: number;
    /** Currently held. */
    held: number;
  };
  /** Answers storage gave to forwarded requests, by operation and status (e.g. `put-blob 409`: create-only conflicts). */
  upstreamStatus: Record<string, number>;
  /** Upstream (Azurite) errors seen by the proxy itself (should stay 0). */
  upstreamErrors: number;
}

export interface FaultProxy {
  port: number;
  /** http://127.0.0.1:<port>/devstoreaccount1 */
  blobEndpoint: string;
  /** Azurite's account and key, through the proxy. */
  connectionString: string;
  stats: FaultStats;
  setPlan(plan: FaultPlan): void;
  /** Faults injected so far (every kind but `pass`). */
  injected(): number;
  /** A compact one-line summary of the counters. */
  describe(): string;
  close(): Promise<void>;
}

export interface FaultProxyOptions {
  /** Upstream blob endpoint, e.g. Azurite's `http://127.0.0.1:10000/devstoreaccount1`. */
  target: string;
  plan?: FaultPlan;
  /** How long a stall is held if the client never gives up; default 60 000. */
  maxStallMs?: number;
}

const ERROR_REPLIES = {
  'server-busy': { status: 503, code: 'ServerBusy', message: 'The server is busy.' },
  'internal-error': { status: 500, code: 'InternalError', message: 'The server encountered an internal error. Please retry the request.' },
  'auth-failed': {
    status: 403,
    code: 'AuthenticationFailed',
    message: 'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.',
  },
} as const;

function opOf(method: string, url: URL): BlobOp {
  const comp = url.searchParams.get('comp');
  const restype = url.searchParams.get('restype');
  if (restype === 'container') {
    if (comp === 'list') return 'list-blobs';
    if (method === 'PUT' && !comp) return 'create-container';
    if (!comp) return 'container-properties';
    return 'other';
  }
  if (comp) return 'other';
  if (method === 'PUT') return 'put-blob';
  if (method === 'HEAD') return 'get-properties';
  if (method === 'GET') return 'get-blob';
  return 'other';
}

function readBody(req: http.IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('client aborted')));
  });
}

interface Upstream {
  status: number;
  headers: [string, string][];
  body: Buffer;
}

const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'proxy-connection', 'upgrade', 'te', 'trailer']);

export async function startFaultProxy(options: FaultProxyOptions): Promise<FaultProxy> {
  const target = new URL(options.target);
  const maxStallMs = options.maxStallMs ?? 60_000;
  let plan: FaultPlan = options.plan ?? (() => 'pass');
  const started = performance.now();
  const agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  const sockets = new Set<Socket>();
  const holds = new Set<() => void>();
  const stats: FaultStats = {
    requests: 0,
    byKind: { pass: 0, 'server-busy': 0, 'internal-error': 0, 'auth-failed': 0, 'reset-before': 0, 'reset-after': 0, 'stall-before': 0, 'stall-after': 0 },
    byOp: {},
    writesCommittedAnswerLost: 0,
    stalls: { abandonedByClient: 0, outlastedClient: 0, maxHeldMs: 0, held: 0 },
    upstreamStatus: {},
    upstreamErrors: 0,
  };

  const forward = (req: http.IncomingMessage, body: Buffer): Promise<Upstream> =>
    new Promise((resolve, reject) => {
      const headers: http.OutgoingHttpHeaders = {};
      for (const [k, v] of Object.entries(req.headers)) if (!HOP_BY_HOP.has(k) && v !== undefined) headers[k] = v;
      headers.host = target.host;
      headers['content-length'] = String(body.length);
      const up = http.request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const pairs: [string, string][] = [];
          for (let i = 0; i < res.rawHeaders.length; i += 2) pairs.push([res.rawHeaders[i], res.rawHeaders[i + 1]]);
          resolve({ status: res.statusCode ?? 502, headers: pairs, body: Buffer.concat(chunks) });
        });
        res.on('error', reject);
      });
      up.on('error', reject);
      up.end(body);
    });

  const reply = (req: http.IncomingMessage, res: http.ServerResponse, upstream: Upstream) => {
    const headers: [string, string][] = upstream.headers.filter(([k]) => !HOP_BY_HOP.has(k.toLowerCase()) && (req.method === 'HEAD' || k.toLowerCase() !== 'content-length'));
    if (req.method !== 'HEAD') headers.push(['Content-Length', String(upstream.body.length)]);
    res.writeHead(upstream.status, headers.flat());
    res.end(req.method === 'HEAD' ? undefined : upstream.body);
  };

  const errorReply = (req: http.IncomingMessage, res: http.ServerResponse, kind: keyof typeof ERROR_REPLIES) => {
    const e = ERROR_REPLIES[kind];
    const requestId = randomUUID();
    const body =
      `\uFEFF<?xml version="1.0" encoding="utf-8"?><Error><Code>${e.code}</Code>` +
      `<Message>${e.message}\nRequestId:${requestId}\nTime:${new Date().toISOString()}</Message></Error>`;
    const headers: http.OutgoingHttpHeaders = {
      'Content-Type': 'application/xml',
      Server: 'Windows-Azure-Blob/1.0 Microsoft-HTTPAPI/2.0',
      'x-ms-request-id': requestId,
      'x-ms-version': req.headers['x-ms-version'] ?? '2025-01-05',
      'x-ms-error-code': e.code,
      Date: new Date().toUTCString(),
    };
    if (req.headers['x-ms-client-request-id']) headers['x-ms-client-request-id'] = req.headers['x-ms-client-request-id'];
    if (req.method === 'HEAD') {
      res.writeHead(e.status, e.message, headers);
      return res.end();
    }
    headers['Content-Length'] = String(Buffer.byteLength(body));
    res.writeHead(e.status, e.message, headers);
    res.end(body);
  };

  /** Holds the request until the client closes the connection (its timeout) or maxStallMs (then resets). */
  const hold = (req: http.IncomingMessage) =>
    new Promise<void>((resolve) => {
      const socket = req.socket;
      const since = performance.now();
      stats.stalls.held += 1;
      const done = (outcome: 'client' | 'proxy') => {
        if (!holds.has(release)) return;
        holds.delete(release);
        clearTimeout(timer);
        socket.off('close', onClose);
        stats.stalls.held -= 1;
        stats.stalls.maxHeldMs = Math.max(stats.stalls.maxHeldMs, Math.round(performance.now() - since));
        if (outcome === 'client') stats.stalls.abandonedByClient += 1;
        else {
          stats.stalls.outlastedClient += 1;
          if (!socket.destroyed) socket.resetAndDestroy();
        }
        resolve();
      };
      const release = () => done('proxy');
      const onClose = () => done('client');
      const timer = setTimeout(release, maxStallMs);
      holds.add(release);
      socket.on('close', onClose);
      if (socket.destroyed) done('client');
    });

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const method = req.method ?? 'GET';
    const op = opOf(method, url);
    const info: RequestInfo = { n: stats.requests++, at: Math.round(performance.now() - started), method, path: url.pathname, op };
    let kind: FaultKind;
    try {
      kind = plan(info);
    } catch {
      kind = 'pass';
    }
    stats.byKind[kind] += 1;
    const perOp = (stats.byOp[op] ??= { requests: 0, faults: 0 });
    perOp.requests += 1;
    if (kind !== 'pass') perOp.faults += 1;

    if (kind === 'reset-before') {
      req.socket.resetAndDestroy();
      return;
    }
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      return; // the client went away
    }
    if (kind === 'server-busy' || kind === 'internal-error' || kind === 'auth-failed') return errorReply(req, res, kind);
    if (kind === 'stall-before') return hold(req);

    let upstream: Upstream;
    try {
      upstream = await forward(req, body);
    } catch {
      stats.upstreamErrors += 1;
      req.socket.resetAndDestroy();
      return;
    }
    const statusKey = `${op} ${upstream.status}`;
    stats.upstreamStatus[statusKey] = (stats.upstreamStatus[statusKey] ?? 0) + 1;
    const committedWrite = op === 'put-blob' && upstream.status >= 200 && upstream.status < 300;
    if (kind === 'reset-after') {
      if (committedWrite) stats.writesCommittedAnswerLost += 1;
      req.socket.resetAndDestroy();
      return;
    }
    if (kind === 'stall-after') {
      if (committedWrite) stats.writesCommittedAnswerLost += 1;
      return hold(req);
    }
    if (!req.socket.destroyed) reply(req, res, upstream);
  };

  const server = http.createServer({ keepAliveTimeout: 30_000, requestTimeout: 0, headersTimeout: 0 }, (req, res) => {
    handle(req, res).catch(() => {
      if (!req.socket.destroyed) req.socket.resetAndDestroy();
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  const blobEndpoint = `http://127.0.0.1:${port}/${AZURITE_ACCOUNT}`;

  return {
    port,
    blobEndpoint,
    connectionString: azuriteConnectionString(blobEndpoint),
    stats,
    setPlan(next) {
      plan = next;
    },
    injected: () => Object.entries(stats.byKind).reduce((n, [k, v]) => (k === 'pass' ? n : n + v), 0),
    describe() {
      const kinds = Object.entries(stats.byKind)
        .filter(([, v]) => v > 0)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      const ops = Object.entries(stats.byOp)
        .map(([k, v]) => `${k}:${v.faults}/${v.requests}`)
        .join(' ');
      const s = stats.stalls;
      return (
        `requests=${stats.requests} ${kinds} | faults/requests by op: ${ops} | writes committed but answer lost: ${stats.writesCommittedAnswerLost} | create-only conflicts (put-blob 409): ${stats.upstreamStatus['put-blob 409'] ?? 0}` +
        (s.abandonedByClient + s.outlastedClient > 0 ? ` | stalls: abandoned by client ${s.abandonedByClient}, outlasted client ${s.outlastedClient}, max held ${s.maxHeldMs} ms` : '')
      );
    },
    async close() {
      for (const release of [...holds]) release();
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      agent.destroy();
    },
  };
}

/* ----------------------------------------------------------------------------------------------
 * Plans
 * -------------------------------------------------------------------------------------------- */

export interface PlanFilter {
  /** Only these operations are eligible (counted and faulted); others pass. Default: all. */
  ops?: BlobOp[];
}

const eligible = (filter: PlanFilter | undefined, req: RequestInfo) => !filter?.ops || filter.ops.includes(req.op);

/**
 * Bursts: among eligible requests, `length` consecutive ones fail out of every `period`
 * (e.g. period 40, length 6: requests 0–5, 40–45, … of the eligible ones). `skip` eligible
 * requests pass first (lets the set-up through).
 */
export function bursts(kind: FaultKind, options: PlanFilter & { period: number; length: number; skip?: number }): FaultPlan {
  let k = 0;
  return (req) => {
    if (!eligible(options, req)) return 'pass';
    const i = k++ - (options.skip ?? 0);
    return i >= 0 && i % options.period < options.length ? kind : 'pass';
  };
}

/** Every eligible request numbered [from, until) (0-based, among eligible requests) fails; then it heals. */
export function requestRange(kind: FaultKind, options: PlanFilter & { from: number; until: number }): FaultPlan {
  let k = 0;
  return (req) => {
    if (!eligible(options, req)) return 'pass';
    const i = k++;
    return i >= options.from && i < options.until ? kind : 'pass';
  };
}

/** Every eligible request arriving in [fromMs, untilMs) after the plan is made (or `start()`) fails. */
export function timeWindow(kind: FaultKind, options: PlanFilter & { fromMs: number; untilMs: number }): FaultPlan & { start(): void } {
  let t0 = performance.now();
  const plan = ((req: RequestInfo) => {
    if (!eligible(options, req)) return 'pass';
    const t = performance.now() - t0;
    return t >= options.fromMs && t < options.untilMs ? kind : 'pass';
  }) as FaultPlan & { start(): void };
  plan.start = () => {
    t0 = performance.now();
  };
  return plan;
}

/** Outage bursts in time: every eligible request in the first `openMs` of every `periodMs` fails (counted from when the plan is made). */
export function periodicWindows(kind: FaultKind, options: PlanFilter & { periodMs: number; openMs: number }): FaultPlan {
  const t0 = performance.now();
  return (req) => {
    if (!eligible(options, req)) return 'pass';
    return (performance.now() - t0) % options.periodMs < options.openMs ? kind : 'pass';
  };
}

/** The requests `trigger` faults get `kinds` in turn (e.g. alternate stall-before / stall-after). */
export function rotating(kinds: FaultKind[], trigger: FaultPlan): FaultPlan {
  let i = 0;
  return (req) => (trigger(req) === 'pass' ? 'pass' : kinds[i++ % kinds.length]);
}

/** The first plan that faults a request decides it. Every plan sees every request (their counters stay true). */
export function firstOf(...plans: FaultPlan[]): FaultPlan {
  return (req) => {
    let kind: FaultKind = 'pass';
    for (const p of plans) {
      const k = p(req);
      if (kind === 'pass') kind = k;
    }
    return kind;
  };
}
