import diagnosticsChannel from 'node:diagnostics_channel';
import type { IncomingMessage } from 'node:http';
import type { RequestCounts } from './ipc';

/**
 * Counts every HTTP request that reaches an HTTP server in this process — here only the in-process
 * Azurite — through Node's `http.server.request.start` diagnostics channel: no proxy in the path, no
 * change to Azurite or to the app's storage clients. Requests are classified by method and by Blob
 * REST operation (from the method and the `restype`/`comp` query parameters).
 */
export function blobOperation(method: string, url: string): string {
  const q = url.indexOf('?');
  const params = new URLSearchParams(q >= 0 ? url.slice(q + 1) : '');
  const comp = params.get('comp');
  const container = params.get('restype') === 'container';
  switch (method) {
    case 'PUT':
      if (container) return comp ? `SetContainer:${comp}` : 'CreateContainer';
      if (comp === 'block') return 'PutBlock';
      if (comp === 'blocklist') return 'PutBlockList';
      if (comp) return `SetBlob:${comp}`;
      return 'PutBlob';
    case 'GET':
      if (comp === 'list') return container ? 'ListBlobs' : 'ListContainers';
      if (container) return comp ? `GetContainer:${comp}` : 'GetContainerProperties';
      return comp ? `GetBlob:${comp}` : 'GetBlob';
    case 'HEAD':
      return container ? 'GetContainerProperties' : 'GetBlobProperties';
    case 'DELETE':
      return container ? 'DeleteContainer' : 'DeleteBlob';
    default:
      return method;
  }
}

/** Method bucket as reported: LIST is split out of GET (it is billed as a write-class operation). */
export function methodBucket(method: string, operation: string): string {
  return operation.startsWith('List') ? 'LIST' : method;
}

export class RequestCounter {
  private readonly counts: RequestCounts = { total: 0, byMethod: {}, byOperation: {} };
  private readonly onStart = (message: unknown) => {
    const request = (message as { request: IncomingMessage }).request;
    const method = request.method ?? 'UNKNOWN';
    const operation = blobOperation(method, request.url ?? '');
    const bucket = methodBucket(method, operation);
    this.counts.total += 1;
    this.counts.byMethod[bucket] = (this.counts.byMethod[bucket] ?? 0) + 1;
    this.counts.byOperation[operation] = (this.counts.byOperation[operation] ?? 0) + 1;
  };

  start(): this {
    diagnosticsChannel.subscribe('http.server.request.start', this.onStart);
    return this;
  }

  stop(): void {
    diagnosticsChannel.unsubscribe('http.server.request.start', this.onStart);
  }

  snapshot(): RequestCounts {
    return { total: this.counts.total, byMethod: { ...this.counts.byMethod }, byOperation: { ...this.counts.byOperation } };
  }
}
