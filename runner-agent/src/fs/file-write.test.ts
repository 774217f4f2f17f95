import { createHash, randomBytes } from "node:crypto";
import { readdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { status, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ReadChunk, WriteRequest, WriteResponse } from "@devhatchery/proto/agent/v1/fs";
import {
  authMetadata,
  readAll,
  startAgentHarness,
  writeStreamed,
  type AgentHarness,
} from "../../test/agent-harness.js";

/** A deterministic stream of `count` chunks of pseudo-random bytes, hashed as it is produced. */
function* randomChunks(count: number, chunkBytes: number, hash: ReturnType<typeof createHash>): Generator<Buffer> {
  for (let i = 0; i < count; i++) {
    const chunk = randomBytes(chunkBytes);
    hash.update(chunk);
    yield chunk;
  }
}

describe("FsService.Write: streamed, atomic, conditional", () => {
  let agent: AgentHarness;
  let work: (path: string) => string;
  beforeAll(async () => {
    agent = await startAgentHarness();
    work = (path) => join(agent.workDir, path);
  });
  afterAll(async () => {
    await agent.close();
  });

  const tempFilesIn = async (dir: string) => (await readdir(dir)).filter((name) => name.endsWith(".devhatchery-tmp"));

  it("writes and reads back 100 MB with the same sha256", async () => {
    const sent = createHash("sha256");
    const written = await writeStreamed(
      agent.fs,
      { path: "big/100mb.bin", createParents: true },
      randomChunks(100, 1024 * 1024, sent),
    );
    expect(written.info?.size).toBe(100 * 1024 * 1024);
    const received = createHash("sha256");
    let bytes = 0;
    let info: ReadChunk["info"];
    for await (const chunk of agent.fs.read(
      { path: "big/100mb.bin", offset: 0, length: 0, ifMatch: "" },
      authMetadata(),
    ) as AsyncIterable<ReadChunk>) {
      info ??= chunk.info;
      received.update(chunk.data);
      bytes += chunk.data.length;
    }
    expect(bytes).toBe(100 * 1024 * 1024);
    expect(received.digest("hex")).toBe(sent.digest("hex"));
    expect(info?.etag).toBe(written.info?.etag);
    await rm(work("big"), { recursive: true });
  });

  it("replaces the file only when if_match is its current etag", async () => {
    const first = await writeStreamed(agent.fs, { path: "cond.txt" }, Buffer.from("first"));
    const second = await writeStreamed(
      agent.fs,
      { path: "cond.txt", ifMatch: first.info?.etag ?? "" },
      Buffer.from("second"),
    );
    expect(second.info?.etag).not.toBe(first.info?.etag);
    expect(await readFile(work("cond.txt"), "utf8")).toBe("second");

    await expect(
      writeStreamed(agent.fs, { path: "cond.txt", ifMatch: first.info?.etag ?? "" }, Buffer.from("stale")),
    ).rejects.toMatchObject({
      code: status.ABORTED,
      details:
        `Cannot write "${work("cond.txt")}": if_match expected etag "${first.info?.etag}" but the current etag is "${second.info?.etag}"; the file changed since you read it. ` +
        "Read it again for its current content and etag, reapply your change, and retry with the new etag.",
    });
    expect(await readFile(work("cond.txt"), "utf8")).toBe("second");
    expect(await tempFilesIn(agent.workDir)).toEqual([]);
  });

  it("fails a conditional write when the file is missing, and creates nothing", async () => {
    await expect(
      writeStreamed(agent.fs, { path: "gone.txt", ifMatch: "1-2-3-4" }, Buffer.from("x")),
    ).rejects.toMatchObject({
      code: status.ABORTED,
      details:
        `Cannot write "${work("gone.txt")}": if_match expected etag "1-2-3-4" but the file no longer exists (current etag: none); ` +
        "it was removed or moved since you read it. Check where it went (stat or list), or write without if_match to create it.",
    });
    await expect(readFile(work("gone.txt"))).rejects.toMatchObject({ code: "ENOENT" });
  });

  it("rechecks the etag right before the rename: a change during the upload fails the write", async () => {
    const { info } = await writeStreamed(agent.fs, { path: "during.txt" }, Buffer.from("original"));
    let theirs: Promise<void> | undefined;
    async function* slowly(): AsyncGenerator<Buffer> {
      yield Buffer.from("mine ");
      // Once the agent has passed the header's check (its temporary file exists), another process changes the file.
      for (let i = 0; i < 200 && (await tempFilesIn(agent.workDir)).length === 0; i++)
        await new Promise((resolve) => setTimeout(resolve, 10));
      expect(await tempFilesIn(agent.workDir)).toHaveLength(1);
      theirs = writeFile(work("during.txt"), "theirs");
      await theirs;
      yield Buffer.from("too late");
    }
    await expect(
      writeStreamed(agent.fs, { path: "during.txt", ifMatch: info?.etag ?? "" }, slowly()),
    ).rejects.toMatchObject({ code: status.ABORTED });
    await theirs;
    expect(await readFile(work("during.txt"), "utf8")).toBe("theirs");
    expect(await tempFilesIn(agent.workDir)).toEqual([]);
  });

  it("lets exactly one of two concurrent conditional writers win, with the winner's content", async () => {
    for (let round = 0; round < 10; round++) {
      const { info } = await writeStreamed(agent.fs, { path: "race.txt" }, Buffer.from(`base ${round}`));
      const etag = info?.etag ?? "";
      // Both writers pass the header check, stream their bytes, and commit at the same moment.
      let release!: () => void;
      const bothSent = new Promise<void>((resolve) => (release = resolve));
      let sent = 0;
      async function* content(name: string): AsyncGenerator<Buffer> {
        yield Buffer.from(`${name} `.repeat(1000));
        if (++sent === 2) release();
        await bothSent;
      }
      const results = await Promise.allSettled(
        ["alpha", "bravo"].map((name) => writeStreamed(agent.fs, { path: "race.txt", ifMatch: etag }, content(name))),
      );
      const won = results.filter(
        (result): result is PromiseFulfilledResult<WriteResponse> => result.status === "fulfilled",
      );
      const lost = results.filter((result): result is PromiseRejectedResult => result.status === "rejected");
      expect(won).toHaveLength(1);
      expect(lost).toHaveLength(1);
      expect((lost[0]?.reason as ServiceError).code).toBe(status.ABORTED);
      const winner = results[0]?.status === "fulfilled" ? "alpha" : "bravo";
      expect(await readFile(work("race.txt"), "utf8")).toBe(`${winner} `.repeat(1000));
      expect((await readAll(agent.fs, { path: "race.txt" })).chunks[0]?.info?.etag).toBe(won[0]?.value.info?.etag);
    }
    expect(await tempFilesIn(agent.workDir)).toEqual([]);
  });

  it("leaves the target untouched and no temporary file when the client cancels mid-upload", async () => {
    await writeFile(work("keep.txt"), "kept");
    let settle!: (error: ServiceError | null) => void;
    const settled = new Promise<ServiceError | null>((resolve) => (settle = resolve));
    const call = agent.fs.write(authMetadata(), (error) => settle(error));
    call.write({
      message: { $case: "header", value: { path: "keep.txt", createParents: false, mode: 0, ifMatch: "" } },
    } satisfies WriteRequest);
    call.write({ message: { $case: "data", value: Buffer.from("half of the new") } } satisfies WriteRequest);
    // Give the agent time to open its temporary file before the cancel arrives.
    for (let i = 0; i < 100 && (await tempFilesIn(agent.workDir)).length === 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    call.cancel();
    expect((await settled)?.code).toBe(status.CANCELLED);
    for (let i = 0; i < 100 && (await tempFilesIn(agent.workDir)).length > 0; i++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    expect(await tempFilesIn(agent.workDir)).toEqual([]);
    expect(await readFile(work("keep.txt"), "utf8")).toBe("kept");
  });

  it("refuses a stream that does not start with exactly one header", async () => {
    const raw = (messages: WriteRequest[]) =>
      new Promise<WriteResponse>((resolve, reject) => {
        const call = agent.fs.write(authMetadata(), (error, response) => (error ? reject(error) : resolve(response)));
        for (const message of messages) call.write(message);
        call.end();
      });
    const header: WriteRequest = {
      message: { $case: "header", value: { path: "proto.txt", createParents: false, mode: 0, ifMatch: "" } },
    };
    const data: WriteRequest = { message: { $case: "data", value: Buffer.from("x") } };
    await expect(raw([data, header])).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: "Write: data arrived before the header; send the header (path and options) as the first message.",
    });
    await expect(raw([header, data, header])).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: "Write: a second header arrived; send exactly one header, as the first message, then only data.",
    });
    await expect(raw([])).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: "Write: the stream ended without a header; send the header (path and options) as the first message.",
    });
    await expect(readFile(work("proto.txt"))).rejects.toMatchObject({ code: "ENOENT" });
    expect(await tempFilesIn(agent.workDir)).toEqual([]);
  });
});
