/**
 * Masks credentials that commonly end up in log lines and error messages (storage connection
 * strings, SAS URLs). Account names, endpoints and other keys are left intact so the text
 * stays useful for debugging.
 */

const MASK = "[REDACTED]";

// Connection-string style `Key=value` pairs; the value runs to the next `;`, whitespace or quote.
// SharedAccessSignature values contain `&`/`=`, so only `;` ends them.
const CONNECTION_STRING_SECRET = /\b(AccountKey|SharedAccessSignature|SharedAccessKey)=[^;\s"'<>]+/gi;
// SAS signature as a query parameter (`?sig=...`, `&sig=...`, or a bare SAS token `sv=..&sig=...`).
const SAS_SIG_PARAM = /\b(sig=)[^&;\s"'<>]+/gi;
// Bearer tokens (e.g. an Authorization header echoed into an error).
const BEARER_TOKEN = /\b(Bearer\s+)[A-Za-z0-9\-._~+/]+=*/g;

export function redactSecrets(text: string): string {
  return text
    .replace(CONNECTION_STRING_SECRET, (_m, key: string) => `${key}=${MASK}`)
    .replace(SAS_SIG_PARAM, (_m, prefix: string) => `${prefix}${MASK}`)
    .replace(BEARER_TOKEN, (_m, prefix: string) => `${prefix}${MASK}`);
}
