import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { FileInfo, ReadChunk, WriteRequest } from "@devhatchery/proto/agent/v1/fs";
import { encodeBytesField, soleBytesField } from "@devhatchery/proto/bytes-field";

// Lengths around every varint width: 1, 2 and 3 length bytes.
const LENGTHS = [0, 1, 127, 128, 16_383, 16_384, 300_000];

describe("bytes-field: one bytes field, coded by hand", () => {
  it.each(LENGTHS)("encodes %i bytes exactly as the generated WriteRequest codec does", (length) => {
    const data = randomBytes(length);
    const generated = Buffer.from(WriteRequest.encode({ message: { $case: "data", value: data } }).finish());
    expect(encodeBytesField(2, data).equals(generated)).toBe(true);
  });

  it.each(LENGTHS.filter((length) => length > 0))(
    "encodes a %i-byte ReadChunk the generated codec decodes",
    (length) => {
      const data = randomBytes(length);
      expect(ReadChunk.decode(encodeBytesField(2, data))).toEqual({ info: undefined, data });
    },
  );

  it.each(LENGTHS)("reads %i bytes back as a view of the message, without a copy", (length) => {
    const message = Buffer.from(
      WriteRequest.encode({ message: { $case: "data", value: randomBytes(length) } }).finish(),
    );
    const data = soleBytesField(message, 2);
    expect(data?.equals(message.subarray(message.length - length))).toBe(true);
    expect(data?.buffer).toBe(message.buffer);
  });

  it("leaves every other shape to the generated codec", () => {
    const header = Buffer.from(
      WriteRequest.encode({
        message: { $case: "header", value: { path: "/x", createParents: false, mode: 0, ifMatch: "" } },
      }).finish(),
    );
    const info = FileInfo.fromPartial({ path: "/x", size: 1, etag: "e" });
    const withInfo = Buffer.from(ReadChunk.encode({ info, data: Buffer.from("a") }).finish());
    const data = encodeBytesField(2, Buffer.from("abc"));
    expect(soleBytesField(header, 2)).toBeUndefined();
    expect(soleBytesField(withInfo, 2)).toBeUndefined();
    expect(soleBytesField(Buffer.concat([data, Buffer.from([0x08, 0x01])]), 2)).toBeUndefined();
    expect(soleBytesField(data.subarray(0, data.length - 1), 2)).toBeUndefined();
    expect(soleBytesField(Buffer.from([0x12, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01]), 2)).toBeUndefined();
    expect(soleBytesField(Buffer.alloc(0), 2)).toBeUndefined();
  });

  it("refuses field numbers that need a longer tag", () => {
    expect(() => encodeBytesField(16, Buffer.alloc(1))).toThrow(
      "bytes-field: field number 16 needs a one-byte tag (1 to 15)",
    );
  });
});
