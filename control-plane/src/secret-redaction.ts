export const REDACTED = "[redacted]";

/** Field names whose values are secrets whatever they look like. */
const SECRET_FIELD =
  /token|authori[sz]ation|passw(?:or)?d|passphrase|secret|credential|cookie|api[_-]?key|private[_-]?key|access[_-]?key/i;

/** Fields that hold content digests: long hex by design, and what an auditor compares. */
const DIGEST_FIELD = /^(?:sha256|sha512|digest)$/i;

/** `Authorization`-style credentials inside text. */
const SCHEME_CREDENTIAL = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]+/gi;

/** `NAME=value` or `NAME: value` where the name looks like it holds a secret (SECRET=…, api_key=…, --password=…). */
const SECRET_ASSIGNMENT =
  /\b([A-Za-z0-9_.-]*(?:token|secret|passw(?:or)?d|passphrase|credential|key|auth)[A-Za-z0-9_.-]*)(\s*[=:]\s*)(?!(?:Bearer|Basic)\s)("[^"]*"|'[^']*'|[^\s"',;&|]+)/gi;

/** JSON Web Tokens. */
const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*/g;

/** Long hex runs (keys, tokens, hashes of secrets); a digest spelled `sha256:<hex>` is kept. */
const HEX_BLOB = /(?<![A-Za-z0-9:])[0-9a-f]{32,}(?![A-Za-z0-9])/gi;

/** Long runs of base64/base64url characters: a blob when it mixes upper case, lower case and digits. */
const BASE64_CANDIDATE = /[A-Za-z0-9+/_-]{32,}={0,2}/g;

function isBase64Blob(candidate: string): boolean {
  const digits = candidate.replace(/[^0-9]/g, "").length;
  return /[A-Z]/.test(candidate) && /[a-z]/.test(candidate) && digits >= 2;
}

/** Replaces secret-looking parts of a string: credentials, secret assignments, JWTs and long hex or base64 blobs. */
export function redactText(text: string, options: { keepHex?: boolean } = {}): string {
  let result = text
    .replace(SCHEME_CREDENTIAL, (_match, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(SECRET_ASSIGNMENT, (_match, name: string, separator: string) => `${name}${separator}${REDACTED}`)
    .replace(JWT, REDACTED);
  if (!options.keepHex) result = result.replace(HEX_BLOB, REDACTED);
  return result.replace(BASE64_CANDIDATE, (candidate) => (isBase64Blob(candidate) ? REDACTED : candidate));
}

/**
 * A copy of `value` safe to write to a log an auditor reads: values of secret-named fields are replaced, and
 * every string is scrubbed of secret-looking parts (see redactText). Numbers and booleans pass unchanged.
 */
export function redactSecrets(value: unknown, field = "", depth = 0): unknown {
  if (field && SECRET_FIELD.test(field) && value !== undefined && value !== null && value !== "") return REDACTED;
  if (typeof value === "string") return redactText(value, { keepHex: DIGEST_FIELD.test(field) });
  if (depth > 8 || value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) return value.map((item) => redactSecrets(item, "", depth + 1));
  if (value instanceof Error) return { name: value.name, message: redactText(value.message) };
  return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, redactSecrets(item, key, depth + 1)]));
}
