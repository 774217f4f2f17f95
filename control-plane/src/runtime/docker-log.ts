/**
 * Turns Docker's multiplexed log payload (8-byte frame headers: stream, 3 zero bytes, big-endian length)
 * into plain text. Payloads without frame headers (TTY containers) are returned as they are.
 */
export function demuxDockerLog(raw: Buffer): string {
  const parts: Buffer[] = [];
  let offset = 0;
  while (offset + 8 <= raw.length) {
    const stream = raw[offset];
    if (
      (stream !== 0 && stream !== 1 && stream !== 2) ||
      raw[offset + 1] !== 0 ||
      raw[offset + 2] !== 0 ||
      raw[offset + 3] !== 0
    ) {
      return raw.toString("utf8");
    }
    const length = raw.readUInt32BE(offset + 4);
    parts.push(raw.subarray(offset + 8, offset + 8 + length));
    offset += 8 + length;
  }
  if (offset < raw.length && parts.length === 0) return raw.toString("utf8");
  return Buffer.concat(parts).toString("utf8");
}
