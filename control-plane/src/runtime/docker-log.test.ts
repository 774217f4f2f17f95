import { describe, expect, it } from "vitest";
import { demuxDockerLog } from "./docker-log.js";

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const header = Buffer.alloc(8);
  header[0] = stream;
  header.writeUInt32BE(payload.length, 4);
  return Buffer.concat([header, payload]);
}

describe("demuxDockerLog", () => {
  it("joins stdout and stderr frames in order", () => {
    expect(demuxDockerLog(Buffer.concat([frame(1, "out\n"), frame(2, "err\n"), frame(1, "more\n")]))).toBe(
      "out\nerr\nmore\n",
    );
  });

  it("returns TTY logs (no frame headers) unchanged", () => {
    expect(demuxDockerLog(Buffer.from("plain text log line\n"))).toBe("plain text log line\n");
  });

  it("returns an empty string for an empty log", () => {
    expect(demuxDockerLog(Buffer.alloc(0))).toBe("");
  });
});
