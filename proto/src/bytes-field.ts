/**
 * The protobuf wire format of a message made of one bytes field (tag, varint length, bytes), hand-coded for the
 * bulk of file transfers: the generated codecs copy such bytes three or four times, these once (encode) or never
 * (decode). Only fields numbered below 16 (one-byte tags) are supported. The agent and the control plane share it.
 */
const LENGTH_DELIMITED = 2;

function tagOf(fieldNumber: number): number {
  if (fieldNumber < 1 || fieldNumber > 15)
    throw new RangeError(`bytes-field: field number ${fieldNumber} needs a one-byte tag (1 to 15)`);
  return (fieldNumber << 3) | LENGTH_DELIMITED;
}

function varintSize(value: number): number {
  let size = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) size++;
  return size;
}

/** Encodes `{ [fieldNumber]: data }` as a whole message: one allocation, one copy of `data`. */
export function encodeBytesField(fieldNumber: number, data: Uint8Array): Buffer {
  const message = Buffer.allocUnsafe(1 + varintSize(data.length) + data.length);
  message[0] = tagOf(fieldNumber);
  let position = 1;
  let rest = data.length;
  while (rest >= 0x80) {
    message[position++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  message[position++] = rest;
  message.set(data, position);
  return message;
}

/**
 * The bytes of field `fieldNumber` when `message` is exactly that one field (a view, no copy); undefined for any
 * other shape, which the caller decodes with the generated codec.
 */
export function soleBytesField(message: Uint8Array, fieldNumber: number): Buffer | undefined {
  if (message[0] !== tagOf(fieldNumber)) return undefined;
  let length = 0;
  let position = 1;
  for (let scale = 1; position < message.length && position <= 5; scale *= 0x80) {
    const byte = message[position++]!;
    length += (byte & 0x7f) * scale;
    if (byte < 0x80) {
      if (position + length !== message.length) return undefined;
      return Buffer.from(message.buffer, message.byteOffset + position, length);
    }
  }
  return undefined;
}
