/** What reading a request body within a byte limit gave: its text, or how far it got before the limit. */
export type BoundedBody = { kind: "read"; text: string } | { kind: "too-large"; bytes: number; declared: boolean };

/**
 * Reads `request`'s body as UTF-8 text, refusing it once it is longer than `limitBytes`: when its Content-Length
 * says so, or as soon as the bytes counted while reading pass the limit (a chunked body). At most `limitBytes` are
 * ever held; the rest of a refused body is read and dropped (bounded) before this returns, so the answer is written
 * to a client that has finished sending: a server that closes while the client still sends makes TCP reset the
 * connection, and the reset destroys the answer (a client that sent `Connection: close` always sees that).
 */
export async function readBoundedBody(request: Request, limitBytes: number): Promise<BoundedBody> {
  const declared = Number(request.headers.get("content-length") ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limitBytes) {
    if (request.body) await discardRest(request.body.getReader());
    return { kind: "too-large", bytes: declared, declared: true };
  }
  if (!request.body) return { kind: "read", text: "" };
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let bytes = 0;
  for (;;) {
    const chunk = await reader.read();
    if (chunk.done) break;
    bytes += chunk.value.byteLength;
    if (bytes > limitBytes) {
      await discardRest(reader);
      return { kind: "too-large", bytes, declared: false };
    }
    chunks.push(chunk.value);
  }
  return { kind: "read", text: Buffer.concat(chunks).toString("utf8") };
}

/** What is read and dropped of a refused body so its client, still sending, gets the answer before the connection closes. */
const DISCARD_MAX_BYTES = 64 * 1024 * 1024;
// Long enough for a client on a loaded machine to finish sending tens of MiB over a local link; nothing is kept meanwhile.
const DISCARD_MAX_MS = 10_000;
// A client that announced more than it sends (or stalls) is answered after this long without a byte, not held.
const DISCARD_IDLE_MS = 1_000;

/**
 * Reads and drops the rest of a refused body, holding nothing. It stops when the body ends, when nothing arrived for
 * DISCARD_IDLE_MS (the answer then goes to a client that is not sending), or past DISCARD_MAX_BYTES or
 * DISCARD_MAX_MS, where the body is cancelled (the connection closes): a client that keeps sending more than that
 * gets a reset, not an answer.
 */
async function discardRest(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
  const deadline = Date.now() + DISCARD_MAX_MS;
  let bytes = 0;
  let timer: NodeJS.Timeout | undefined;
  try {
    for (;;) {
      const wait = Math.min(DISCARD_IDLE_MS, deadline - Date.now());
      const idle = new Promise<"idle">((resolve) => (timer = setTimeout(() => resolve("idle"), Math.max(0, wait))));
      const chunk = await Promise.race([reader.read(), idle]);
      clearTimeout(timer);
      if (chunk === "idle") return Date.now() >= deadline ? void (await reader.cancel()) : undefined;
      if (chunk.done) return;
      bytes += chunk.value.byteLength;
      if (bytes > DISCARD_MAX_BYTES || Date.now() > deadline) return void (await reader.cancel());
    }
  } catch {
    // The client went away: nothing to answer.
  } finally {
    clearTimeout(timer);
  }
}

/**
 * How deep `text` (JSON) nests arrays and objects, stopping early once past `limit`: a cheap scan before parsing,
 * so a body of a million brackets is refused instead of walked by every later consumer.
 */
export function jsonDepthExceeds(text: string, limit: number): boolean {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const char = text.charCodeAt(index);
    if (inString) {
      if (char === 0x5c)
        index++; // backslash: skip the escaped character
      else if (char === 0x22) inString = false;
    } else if (char === 0x22) inString = true;
    else if (char === 0x5b || char === 0x7b) {
      if (++depth > limit) return true;
    } else if (char === 0x5d || char === 0x7d) depth--;
  }
  return false;
}
