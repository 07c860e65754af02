/**
 * What a failed storage call means for the events it carried:
 * - `auth`: the customer's credentials are wrong, expired or lack rights — re-read the secret once, then park.
 * - `missing-container`: the customer's container is gone — park (it is a configuration problem, not ours).
 * - `conflict`: the blob already exists (create-only) — find out what it holds before deciding anything.
 * - `transient`: throttling, server errors, timeouts, dropped connections — retry later, never drop.
 * - `invalid`: the request itself was refused as malformed — park with the reason, a human must look.
 * Anything unrecognised is `transient`: unknown errors are retried, never silently dropped.
 */
export type StorageFailure = 'auth' | 'missing-container' | 'conflict' | 'transient' | 'invalid';

const AUTH_CODES = new Set([
  'AuthenticationFailed',
  'AuthorizationFailure',
  'AuthorizationPermissionMismatch',
  'AuthorizationResourceTypeMismatch',
  'AuthorizationProtocolMismatch',
  'AuthorizationSourceIPMismatch',
  'AuthorizationServiceMismatch',
  'InsufficientAccountPermissions',
  'AccountIsDisabled',
  'KeyBasedAuthenticationNotPermitted',
  'InvalidAuthenticationInfo',
  'NoAuthenticationInformation',
  'CredentialUnavailableError',
  'InvalidConnectionString',
]);

const TRANSIENT_NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EPIPE',
  'EAI_AGAIN',
  'ENOTFOUND',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'REQUEST_SEND_ERROR',
]);

interface ErrorLike {
  statusCode?: number;
  code?: string;
  name?: string;
  details?: { errorCode?: string };
}

export function storageErrorCode(err: unknown): string | undefined {
  const e = (err ?? {}) as ErrorLike;
  return e.details?.errorCode ?? e.code;
}

export function classifyStorageError(err: unknown): StorageFailure {
  const e = (err ?? {}) as ErrorLike;
  const code = storageErrorCode(err);
  const status = e.statusCode;
  if (code && AUTH_CODES.has(code)) return 'auth';
  if (status === 401 || status === 403) return 'auth';
  if (code === 'ContainerNotFound' || code === 'ContainerBeingDeleted' || code === 'ContainerDisabled') return 'missing-container';
  if (status === 409 && (code === 'BlobAlreadyExists' || code === undefined)) return 'conflict';
  if (status === 408 || status === 429 || (status !== undefined && status >= 500)) return 'transient';
  if (code && TRANSIENT_NETWORK_CODES.has(code)) return 'transient';
  if (e.name === 'AbortError' || e.name === 'TimeoutError') return 'transient';
  if (status !== undefined && status >= 400 && status < 500 && status !== 404) return 'invalid';
  return 'transient';
}

export class StorageWriteError extends Error {
  constructor(
    readonly failure: StorageFailure,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}
