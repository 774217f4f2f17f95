import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { completeUtf8Length, JobOutputLog, OUTPUT_TAIL_CHARS, type JobOutputRead } from "./job-output-log.js";

/** One character of each UTF-8 length: 1, 2, 3 and 4 bytes. */
const MIXED = "aé€😀";

describe("completeUtf8Length", () => {
  it.each([
    ["é", 2],
    ["€", 3],
    ["😀", 4],
  ])("drops a %s (%i bytes) cut at any position and keeps it whole", (character, size) => {
    const bytes = Buffer.from(`a${character}`, "utf8");
    expect(bytes.length).toBe(1 + size);
    for (let cut = 1; cut < size; cut++) expect(completeUtf8Length(bytes.subarray(0, 1 + cut)), `cut ${cut}`).toBe(1);
    expect(completeUtf8Length(bytes)).toBe(1 + size);
  });

  it("keeps plain ASCII and an empty buffer as they are", () => {
    expect(completeUtf8Length(Buffer.from("abc"))).toBe(3);
    expect(completeUtf8Length(Buffer.alloc(0))).toBe(0);
  });

  it("drops a cut character that follows complete multi-byte ones", () => {
    const bytes = Buffer.from("é€😀", "utf8");
    expect(completeUtf8Length(bytes.subarray(0, bytes.length - 1))).toBe(5);
    expect(completeUtf8Length(bytes.subarray(0, 4))).toBe(2);
  });
});

describe("JobOutputLog", () => {
  let dir: string;
  let path: string;
  const logs: JobOutputLog[] = [];
  const create = (maxBytes = 1024 * 1024): JobOutputLog => {
    const log = JobOutputLog.create(path, maxBytes);
    logs.push(log);
    return log;
  };

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "devhatchery-job-log-"));
    path = join(dir, "j-0123456789ab.log");
  });
  afterEach(async () => {
    for (const log of logs.splice(0)) await log.end();
    await rm(dir, { recursive: true, force: true });
  });

  /** Reads from `cursor` to the end in reads of at most `maxBytes`. */
  async function readAll(log: JobOutputLog, cursor: number, maxBytes: number): Promise<JobOutputRead[]> {
    const reads: JobOutputRead[] = [];
    for (;;) {
      const read = await log.read(cursor, maxBytes);
      reads.push(read);
      if (read.eof || read.nextCursor === cursor) return reads;
      cursor = read.nextCursor;
    }
  }

  it("reads on from a byte cursor and never splits a character, whatever the read size", async () => {
    const log = create();
    const text = MIXED.repeat(3);
    log.append(text.slice(0, 5));
    log.append(text.slice(5));
    await log.end();
    for (let maxBytes = 4; maxBytes <= 12; maxBytes++) {
      const reads = await readAll(log, 0, maxBytes);
      expect(reads.map((read) => read.text).join(""), `reads of ${maxBytes}`).toBe(text);
      for (const read of reads) {
        expect(read.nextCursor - read.cursor).toBe(Buffer.byteLength(read.text));
        expect(read.text).not.toContain("\uFFFD");
      }
      expect(reads.at(-1)).toMatchObject({ nextCursor: Buffer.byteLength(text), eof: true, truncated: false });
    }
  });

  it("answers a read that cannot hold the next whole character with no text and the same cursor", async () => {
    const log = create();
    log.append("😀!");
    await log.end();
    expect(await log.read(0, 3)).toEqual({ text: "", cursor: 0, nextCursor: 0, eof: false, truncated: false });
    expect(await log.read(0, 4)).toEqual({ text: "😀", cursor: 0, nextCursor: 4, eof: false, truncated: false });
    expect(await log.read(4, 4)).toEqual({ text: "!", cursor: 4, nextCursor: 5, eof: true, truncated: false });
  });

  it("clamps a cursor before the start or past the end", async () => {
    const log = create();
    log.append("hello");
    await log.end();
    expect(await log.read(-3, 2)).toMatchObject({ text: "he", cursor: 0, nextCursor: 2 });
    expect(await log.read(99, 10)).toEqual({ text: "", cursor: 5, nextCursor: 5, eof: true, truncated: false });
  });

  it("serves what was written while the job runs, without eof until it ends", async () => {
    const log = create();
    log.append("line 1\n");
    await vi.waitFor(async () => expect((await log.read(0, 100)).text).toBe("line 1\n"));
    expect(await log.read(0, 100)).toEqual({
      text: "line 1\n",
      cursor: 0,
      nextCursor: 7,
      eof: false,
      truncated: false,
    });
    log.append("line 2\n");
    await log.end();
    expect(await log.read(7, 100)).toEqual({
      text: "line 2\n",
      cursor: 7,
      nextCursor: 14,
      eof: true,
      truncated: false,
    });
    expect(await log.read(0, 7)).toMatchObject({ text: "line 1\n", eof: false });
  });

  it("stops the file at maxBytes while bytes, truncated and tail keep counting", async () => {
    const log = create(10);
    log.append("0123456");
    expect([log.bytes, log.truncated]).toEqual([7, false]);
    log.append("789abc");
    log.append("def");
    expect([log.bytes, log.truncated, log.tail]).toEqual([16, true, "0123456789abcdef"]);
    await log.end();
    expect(await readFile(path, "utf8")).toBe("0123456789");
    expect(await log.read(0, 100)).toEqual({
      text: "0123456789",
      cursor: 0,
      nextCursor: 10,
      eof: true,
      truncated: true,
    });
  });

  it("cuts the file before a character that does not fit, and writes nothing after the cut", async () => {
    const log = create(10);
    log.append("12345678");
    log.append("€€");
    log.append("ok");
    await log.end();
    expect([log.bytes, log.truncated, log.tail]).toEqual([16, true, "12345678€€ok"]);
    // The file stays the start of the output: "ok" came after the "€€" that did not fit, so it is not in it.
    expect(await readFile(path, "utf8")).toBe("12345678");
  });

  it(`keeps the last ${OUTPUT_TAIL_CHARS} characters as the tail`, async () => {
    const log = create(100);
    log.append("x".repeat(OUTPUT_TAIL_CHARS));
    log.append("end");
    expect(log.tail).toBe(`${"x".repeat(OUTPUT_TAIL_CHARS - 3)}end`);
    expect(log.bytes).toBe(OUTPUT_TAIL_CHARS + 3);
  });

  it("tells listeners every text appended until they stop listening, and ignores empty text and text after end", async () => {
    const log = create();
    const first: string[] = [];
    const second: string[] = [];
    const stopFirst = log.onText((text) => first.push(text));
    log.onText((text) => second.push(text));
    log.append("a");
    log.append("");
    stopFirst();
    log.append("b");
    await log.end();
    log.append("c");
    expect([first, second, log.bytes]).toEqual([["a"], ["a", "b"], 2]);
  });

  it("writes the file readable by its owner only", async () => {
    const log = create();
    log.append("secret-free but private");
    await log.end();
    expect((await stat(path)).mode & 0o777).toBe(0o600);
  });

  it("reads a finished job's log from the file alone, always at eof", async () => {
    const log = create();
    log.append(`${MIXED}\n`);
    await log.end();
    const size = Buffer.byteLength(`${MIXED}\n`);
    expect(await JobOutputLog.readFinished(path, 0, 100)).toEqual({
      text: `${MIXED}\n`,
      cursor: 0,
      nextCursor: size,
      eof: true,
      truncated: false,
    });
    expect(await JobOutputLog.readFinished(path, 1, 4)).toEqual({
      text: "é",
      cursor: 1,
      nextCursor: 3,
      eof: true,
      truncated: false,
    });
    expect(await JobOutputLog.readFinished(join(dir, "missing.log"), 0, 100)).toEqual({
      text: "",
      cursor: 0,
      nextCursor: 0,
      eof: true,
      truncated: false,
    });
  });

  it("removes a log file, and a missing one without complaint", async () => {
    const log = create();
    log.append("x");
    await log.end();
    await JobOutputLog.remove(path);
    await expect(stat(path)).rejects.toMatchObject({ code: "ENOENT" });
    await JobOutputLog.remove(path);
  });

  it("ends twice without error", async () => {
    const log = create();
    log.append("done\n");
    await log.end();
    await log.end();
    expect(await readFile(path, "utf8")).toBe("done\n");
  });
});
