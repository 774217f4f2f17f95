/** The longest client name, title or version a session keeps from initialize; the rest is cut. */
const MAX_INFO_CHARS = 256;
/** The most of the client's declared capabilities (as JSON) a session keeps; past it only the known ones stay. */
const MAX_CAPABILITIES_CHARS = 4096;
const KNOWN_CAPABILITIES = ["roots", "sampling", "elicitation", "tasks"] as const;

/**
 * An initialize request with only a bounded part of what the server keeps for the whole session: the client's
 * name, title and version (cut to 256 characters) and its capabilities (the known ones only, when they are large).
 * The body limit bounds the request; this bounds what stays in memory for the session's lifetime.
 */
export function boundInitialize(message: unknown): unknown {
  if (!isRecord(message) || !isRecord(message.params)) return message;
  const { clientInfo, capabilities } = message.params;
  const info = isRecord(clientInfo) ? clientInfo : {};
  const keptInfo: Record<string, string> = {};
  for (const field of ["name", "version", "title"] as const) {
    const value = info[field];
    if (typeof value === "string") keptInfo[field] = value.slice(0, MAX_INFO_CHARS);
  }
  return {
    ...message,
    params: { ...message.params, clientInfo: keptInfo, capabilities: boundCapabilities(capabilities) },
  };
}

function boundCapabilities(capabilities: unknown): Record<string, unknown> {
  if (!isRecord(capabilities)) return {};
  if (JSON.stringify(capabilities).length <= MAX_CAPABILITIES_CHARS) return capabilities;
  const kept: Record<string, unknown> = {};
  for (const name of KNOWN_CAPABILITIES) {
    const value = capabilities[name];
    if (value !== undefined && JSON.stringify(value).length <= MAX_CAPABILITIES_CHARS / KNOWN_CAPABILITIES.length)
      kept[name] = value;
  }
  return kept;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
