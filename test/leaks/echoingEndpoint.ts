import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { generateAccountSASQueryParameters, AccountSASPermissions, AccountSASResourceTypes, AccountSASServices, StorageSharedKeyCredential } from '@azure/storage-blob';

/**
 * A storage endpoint that answers with Azure-style XML errors whose message quotes the request line,
 * query string included — as misconfigured gateways, proxies and some storage front ends do. With a
 * SAS connection string the query carries `sig=`, so the error text the SDK hands back contains the
 * signature: only redaction stands between it and the logs, park reasons and thrown errors.
 */
export interface EchoReply {
  status: number;
  code: string;
}

export interface EchoingEndpoint {
  /** `http://127.0.0.1:<port>/devstoreaccount1`, usable as a BlobEndpoint. */
  blobEndpoint: string;
  /** Requests seen (method and URL), to prove the secret really went over the wire. */
  requests: string[];
  close(): Promise<void>;
}

export interface EchoOptions {
  /** Reply to container create (`PUT ?restype=container`); default 201 Created. */
  container?: EchoReply;
  /** Reply to everything else but listings (blob uploads, reads); default 403 AuthenticationFailed. */
  blob?: EchoReply;
}

function reply(res: ServerResponse, req: IncomingMessage, r: EchoReply): void {
  const body =
    '<?xml version="1.0" encoding="utf-8"?><Error>' +
    `<Code>${r.code}</Code><Message>Request refused by the storage front end: ${req.method} ${escapeXml(req.url ?? '')}` +
    `\nRequestId:00000000-0000-0000-0000-000000000000</Message></Error>`;
  res.writeHead(r.status, {
    'content-type': 'application/xml',
    'x-ms-error-code': r.code,
    'x-ms-request-id': '00000000-0000-0000-0000-000000000000',
    'x-ms-version': '2025-01-05',
  });
  res.end(req.method === 'HEAD' ? undefined : body);
}

function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

export async function startEchoingEndpoint(options: EchoOptions = {}): Promise<EchoingEndpoint> {
  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    req.resume();
    req.on('end', () => {
      const isContainerCreate = req.method === 'PUT' && /[?&]restype=container(&|$)/.test(req.url ?? '') && !/[?&]comp=/.test(req.url ?? '');
      if (isContainerCreate) {
        const r = options.container ?? { status: 201, code: '' };
        if (r.status < 300) {
          res.writeHead(r.status, { etag: '"0x1"', 'last-modified': new Date().toUTCString(), 'x-ms-request-id': '1', 'x-ms-version': '2025-01-05' });
          return void res.end();
        }
        return reply(res, req, r);
      }
      if (req.method === 'GET' && /[?&]comp=list(&|$)/.test(req.url ?? '')) {
        // Listings succeed (empty), so a local run can still print its summary.
        res.writeHead(200, { 'content-type': 'application/xml', 'x-ms-request-id': '1', 'x-ms-version': '2025-01-05' });
        return void res.end('<?xml version="1.0" encoding="utf-8"?><EnumerationResults><Blobs /><NextMarker /></EnumerationResults>');
      }
      reply(res, req, options.blob ?? { status: 403, code: 'AuthenticationFailed' });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    blobEndpoint: `http://127.0.0.1:${port}/devstoreaccount1`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** A real account SAS (valid for Azurite's account) — the secret the tests must never see again. */
export function accountSas(accountKey: string, account = 'devstoreaccount1'): string {
  const credential = new StorageSharedKeyCredential(account, accountKey);
  return generateAccountSASQueryParameters(
    {
      expiresOn: new Date(Date.now() + 3_600_000),
      permissions: AccountSASPermissions.parse('rwdlac'),
      resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
      services: AccountSASServices.parse('b').toString(),
    },
    credential,
  ).toString();
}

/** The `sig` value of a SAS token, as it appears in the token (URL-encoded). */
export function sigOf(sas: string): string {
  const m = /(?:^|&)sig=([^&]+)/.exec(sas);
  if (!m) throw new Error('SAS token without sig');
  return m[1];
}
