import { readdir, readFile, stat, writeFile, mkdir } from "node:fs/promises";
import { join } from "node:path";
import { status, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { FileType, type ListResponse, type WriteRequest, type WriteResponse } from "@devhatchery/proto/agent/v1/fs";
import { authMetadata, readAll, startAgentHarness, type AgentHarness } from "../../test/agent-harness.js";

describe("FsService over a real gRPC server", () => {
  let agent: AgentHarness;
  beforeAll(async () => {
    agent = await startAgentHarness();
  });
  afterAll(async () => {
    await agent.close();
  });

  const write = (request: Partial<WriteRequest>): Promise<WriteResponse> =>
    new Promise((resolve, reject) =>
      agent.fs.write({ path: "", data: Buffer.alloc(0), createParents: false, mode: 0, ...request }, authMetadata(), (error, response) =>
        error ? reject(error) : resolve(response),
      ),
    );
  const list = (path: string, limit = 0): Promise<ListResponse> =>
    new Promise((resolve, reject) => agent.fs.list({ path, limit }, authMetadata(), (error, response) => (error ? reject(error) : resolve(response))));

  it("writes a file with parents relative to the work directory, then reads it back", async () => {
    const written = await write({ path: "src/deep/hello.txt", data: Buffer.from("hello\n"), createParents: true });
    expect(written.info).toMatchObject({ path: join(agent.workDir, "src/deep/hello.txt"), name: "hello.txt", type: FileType.FILE_TYPE_FILE, size: 6, mode: 0o644 });
    const { data, chunks } = await readAll(agent.fs, { path: "src/deep/hello.txt" });
    expect(data.toString()).toBe("hello\n");
    expect(chunks[0]?.info).toMatchObject({ size: 6, type: FileType.FILE_TYPE_FILE });
  });

  it("writes atomically: no temporary file is left and the mode is applied", async () => {
    await write({ path: "script.sh", data: Buffer.from("#!/bin/sh\n"), mode: 0o755 });
    await write({ path: "script.sh", data: Buffer.from("#!/bin/sh\necho hi\n") });
    expect((await stat(join(agent.workDir, "script.sh"))).mode & 0o777).toBe(0o755);
    expect((await readdir(agent.workDir)).filter((name) => name.includes("devhatchery-tmp"))).toEqual([]);
  });

  it("refuses to write into a missing directory unless asked to create parents", async () => {
    await expect(write({ path: "missing/file.txt", data: Buffer.from("x") })).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details: `Cannot write "${join(agent.workDir, "missing/file.txt")}": directory "${join(agent.workDir, "missing")}" does not exist; set create_parents to create it.`,
    });
  });

  it("refuses to write over a directory", async () => {
    await mkdir(join(agent.workDir, "a-dir"), { recursive: true });
    await expect(write({ path: "a-dir", data: Buffer.from("x") })).rejects.toMatchObject({ code: status.FAILED_PRECONDITION });
  });

  it("reads a range with offset and length", async () => {
    await writeFile(join(agent.workDir, "digits.txt"), "0123456789");
    expect((await readAll(agent.fs, { path: "digits.txt", offset: 3, length: 4 })).data.toString()).toBe("3456");
    expect((await readAll(agent.fs, { path: "digits.txt", offset: 8 })).data.toString()).toBe("89");
  });

  it("streams a large file in chunks with the bytes intact", async () => {
    const big = Buffer.alloc(3 * 1024 * 1024 + 17);
    for (let i = 0; i < big.length; i++) big[i] = (i * 31) % 251;
    await writeFile(join(agent.workDir, "big.bin"), big);
    const { data, chunks } = await readAll(agent.fs, { path: "big.bin" });
    expect(chunks.length).toBeGreaterThan(10);
    expect(data.equals(big)).toBe(true);
  });

  it("reads an empty file as one chunk with its metadata", async () => {
    await writeFile(join(agent.workDir, "empty"), "");
    const { data, chunks } = await readAll(agent.fs, { path: "empty" });
    expect(data.length).toBe(0);
    expect(chunks[0]?.info?.size).toBe(0);
  });

  it("fails to read a missing file or a directory with clear errors", async () => {
    await expect(readAll(agent.fs, { path: "/no/such/file" })).rejects.toMatchObject({ code: status.NOT_FOUND, details: 'Cannot read "/no/such/file": no such file or directory' });
    await expect(readAll(agent.fs, { path: "." })).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details: `Cannot read "${agent.workDir}": it is a directory; list it instead.`,
    });
  });

  it("lists a directory sorted by name, with types, and truncates at the limit", async () => {
    const dir = join(agent.workDir, "listing");
    await mkdir(join(dir, "sub"), { recursive: true });
    for (const name of ["c.txt", "a.txt", "b.txt"]) await writeFile(join(dir, name), name);
    const all = await list("listing");
    expect(all.directory?.path).toBe(dir);
    expect(all.entries.map((entry) => [entry.name, entry.type])).toEqual([
      ["a.txt", FileType.FILE_TYPE_FILE],
      ["b.txt", FileType.FILE_TYPE_FILE],
      ["c.txt", FileType.FILE_TYPE_FILE],
      ["sub", FileType.FILE_TYPE_DIRECTORY],
    ]);
    expect(all.truncated).toBe(false);
    const two = await list("listing", 2);
    expect(two.entries.map((entry) => entry.name)).toEqual(["a.txt", "b.txt"]);
    expect(two.truncated).toBe(true);
  });

  it("refuses to list a file", async () => {
    await writeFile(join(agent.workDir, "plain.txt"), "x");
    const error = (await list("plain.txt").catch((e: unknown) => e)) as ServiceError;
    expect(error.code).toBe(status.FAILED_PRECONDITION);
    expect(error.details).toBe(`Cannot list "${join(agent.workDir, "plain.txt")}": it is not a directory; read or stat it instead.`);
  });

  it("keeps the bytes of a binary write exact", async () => {
    const bytes = Buffer.from([0, 1, 2, 253, 254, 255]);
    await write({ path: "bin.dat", data: bytes });
    expect((await readFile(join(agent.workDir, "bin.dat"))).equals(bytes)).toBe(true);
  });
});
