import { createHash, randomBytes } from "node:crypto";
import { credentials, status, type Metadata } from "@grpc/grpc-js";
import { GenericContainer, Wait, type StartedTestContainer } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ExecServiceClient, OutputStream, type ExecEvent } from "@devhatchery/proto/agent/v1/exec";
import {
  FileType,
  FsServiceClient,
  type ListResponse,
  type MoveResponse,
  type ReadChunk,
  type RemoveResponse,
  type StatResponse,
} from "@devhatchery/proto/agent/v1/fs";
import {
  authMetadata,
  collectExec,
  readAll,
  tarInStreamed,
  tarOutAll,
  unaryCall,
  writeStreamed,
} from "../../test/agent-harness.js";
import { makeTar } from "../../test/tar-fixtures.js";

/** The offline test runner image built by images/build-test-images.sh (agent baked in, Debian base). */
const RUNNER_IMAGE = "devhatchery-test/runner:dev";

describe("FsService in a real runner container", () => {
  const token = randomBytes(32).toString("base64url");
  let container: StartedTestContainer;
  let fs: FsServiceClient;
  let exec: ExecServiceClient;
  let metadata: () => Metadata;

  /** Runs a shell command in the container and returns its stdout. */
  const sh = async (command: string): Promise<string> => {
    const events = await collectExec(exec, { shell: command }, metadata());
    return events
      .map((event: ExecEvent["event"]) =>
        event?.$case === "output" && event.value.stream === OutputStream.OUTPUT_STREAM_STDOUT
          ? Buffer.from(event.value.data).toString()
          : "",
      )
      .join("");
  };
  const stat = (path: string) => unaryCall<StatResponse>((m, callback) => fs.stat({ path }, m, callback), metadata());
  const list = (path: string, depth = 1) =>
    unaryCall<ListResponse>((m, callback) => fs.list({ path, limit: 0, depth }, m, callback), metadata());
  const move = (source: string, destination: string, overwrite = false) =>
    unaryCall<MoveResponse>(
      (m, callback) => fs.move({ source, destination, overwrite, createParents: false }, m, callback),
      metadata(),
    );
  const remove = (path: string, recursive = false) =>
    unaryCall<RemoveResponse>((m, callback) => fs.remove({ path, recursive }, m, callback), metadata());

  beforeAll(async () => {
    container = await new GenericContainer(RUNNER_IMAGE)
      .withEnvironment({ DEVHATCHERY_AGENT_TOKEN: token })
      .withLabels({ "io.devhatchery.test": "fs-docker" })
      .withTmpFs({ "/scratch": "rw,size=64m" })
      .withExposedPorts(7070)
      .withWaitStrategy(Wait.forLogMessage("runner agent listening"))
      .withPullPolicy({ shouldPull: () => false })
      .start();
    const address = `127.0.0.1:${container.getMappedPort(7070)}`;
    fs = new FsServiceClient(address, credentials.createInsecure(), {
      "grpc.max_receive_message_length": 64 * 1024 * 1024,
    });
    exec = new ExecServiceClient(address, credentials.createInsecure());
    metadata = () => authMetadata(token);
  });

  afterAll(async () => {
    fs?.close();
    exec?.close();
    await container?.stop({ remove: true, timeout: 5_000 }).catch(() => undefined);
  });

  it("streams 100 MB in and out with the same sha256, as the container itself sees it", async () => {
    const sent = createHash("sha256");
    async function* chunks(): AsyncGenerator<Buffer> {
      for (let i = 0; i < 100; i++) {
        const chunk = randomBytes(1024 * 1024);
        sent.update(chunk);
        yield chunk;
      }
    }
    const written = await writeStreamed(fs, { path: "/work/big/100mb.bin", createParents: true }, chunks(), {
      metadata: metadata(),
    });
    expect(written.info?.size).toBe(100 * 1024 * 1024);
    const digest = sent.digest("hex");
    expect(await sh("sha256sum /work/big/100mb.bin | cut -d' ' -f1")).toBe(`${digest}\n`);
    const received = createHash("sha256");
    let first: ReadChunk["info"];
    for await (const chunk of fs.read(
      { path: "big/100mb.bin", offset: 0, length: 0, ifMatch: written.info?.etag ?? "" },
      metadata(),
    ) as AsyncIterable<ReadChunk>) {
      first ??= chunk.info;
      received.update(chunk.data);
    }
    expect(received.digest("hex")).toBe(digest);
    expect(first?.etag).toBe(written.info?.etag);
    await remove("/work/big", true);
  });

  it("keeps one etag per version across write, read, stat and list, and lets one of two racing conditional writers win", async () => {
    const { info } = await writeStreamed(fs, { path: "etag/file.txt", createParents: true }, Buffer.from("base"), {
      metadata: metadata(),
    });
    const etag = info?.etag ?? "";
    expect((await stat("etag/file.txt")).info?.etag).toBe(etag);
    expect((await list("etag")).entries[0]?.etag).toBe(etag);
    expect((await readAll(fs, { path: "etag/file.txt" }, metadata())).chunks[0]?.info?.etag).toBe(etag);

    const results = await Promise.allSettled(
      ["alpha", "bravo"].map((name) =>
        writeStreamed(fs, { path: "etag/file.txt", ifMatch: etag }, Buffer.from(name.repeat(100_000)), {
          metadata: metadata(),
          chunkBytes: 64 * 1024,
        }),
      ),
    );
    const winners = results.flatMap((result, index) =>
      result.status === "fulfilled" ? [["alpha", "bravo"][index] as string] : [],
    );
    expect(winners).toHaveLength(1);
    expect(results.find((result) => result.status === "rejected")).toMatchObject({ reason: { code: status.ABORTED } });
    expect((await readAll(fs, { path: "etag/file.txt" }, metadata())).data.toString()).toBe(
      (winners[0] as string).repeat(100_000),
    );
    expect(await sh("ls -A /work/etag")).toBe("file.txt\n");
  });

  it("refuses what would lose data: a missing parent, a non-empty directory, an existing destination", async () => {
    await expect(
      writeStreamed(fs, { path: "/work/nowhere/file.txt" }, Buffer.from("x"), { metadata: metadata() }),
    ).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details:
        'Cannot write "/work/nowhere/file.txt": directory "/work/nowhere" does not exist; set create_parents to create it.',
    });
    await sh("mkdir -p /work/full/sub && echo keep > /work/full/sub/f && echo a > /work/a.txt && echo b > /work/b.txt");
    await expect(remove("/work/full")).rejects.toMatchObject({
      code: status.FAILED_PRECONDITION,
      details:
        'Cannot remove "/work/full": the directory is not empty; set recursive to remove it with everything in it, or remove its entries first.',
    });
    await expect(move("/work/a.txt", "/work/b.txt")).rejects.toMatchObject({
      code: status.ALREADY_EXISTS,
      details:
        'Cannot move "/work/a.txt" to "/work/b.txt": the destination already exists; set overwrite to replace it, or choose another destination.',
    });
    expect(await sh("cat /work/full/sub/f /work/a.txt /work/b.txt")).toBe("keep\na\nb\n");
  });

  it("moves a directory across file systems (overlay /work to a tmpfs) by copying", async () => {
    await sh("mkdir -p /work/cross/inner && echo deep > /work/cross/inner/f && ln -s inner/f /work/cross/link");
    const moved = await move("/work/cross", "/scratch/cross");
    expect(moved.info).toMatchObject({ path: "/scratch/cross", type: FileType.FILE_TYPE_DIRECTORY });
    expect(await sh("cat /scratch/cross/link; readlink /scratch/cross/link; test -e /work/cross || echo gone")).toBe(
      "deep\ninner/f\ngone\n",
    );
  });

  it("archives a tree with include/exclude globs and extracts it elsewhere identically", async () => {
    await sh(
      "mkdir -p /work/proj/src/lib /work/proj/node_modules/dep /work/proj/empty && cd /work/proj && " +
        "echo main > src/main.c && echo lib > src/lib/lib.c && echo hdr > src/lib/lib.h && echo dep > node_modules/dep/index.js && " +
        "printf '#!/bin/sh\\n' > run.sh && chmod 0755 run.sh && chmod 0700 src/lib && ln -s src/main.c main-link && " +
        "head -c 3000000 /dev/urandom > data.bin",
    );
    const archive = await tarOutAll(fs, { path: "/work/proj", exclude: ["**/node_modules", "**/*.h"] }, metadata());
    const result = await tarInStreamed(fs, { path: "/work/copy", createParents: true }, archive, metadata());
    expect(result.directory?.path).toBe("/work/copy");
    const tree = (dir: string) =>
      sh(`cd ${dir} && find . -printf '%y %m %p %l\\n' | sort && find . -type f | sort | xargs sha256sum`);
    const expected = (await tree("/work/proj"))
      .split("\n")
      .filter((line) => !line.includes("node_modules") && !line.includes("lib.h"))
      .join("\n");
    expect(await tree("/work/copy")).toBe(expected);
    expect(result.entries).toBe(
      expected.split("\n").filter((line) => /^[dfl] /.test(line) && !line.startsWith("d 755 . ")).length,
    );
  });

  it("refuses hostile archives whole and writes nothing outside the target (or inside it)", async () => {
    await sh("mkdir -p /work/target && echo mine > /work/target/existing.txt");
    const hostile = [
      [{ name: "../escaped.txt", content: "x" }],
      [{ name: "/work/escaped.txt", content: "x" }],
      [{ name: "passwd-link", type: "symlink" as const, linkname: "/etc/passwd" }],
      [{ name: "shadow", type: "link" as const, linkname: "../../etc/shadow" }],
    ];
    for (const members of hostile) {
      const archive = await makeTar([{ name: "fine.txt", content: "fine" }, ...members]);
      await expect(tarInStreamed(fs, { path: "/work/target" }, archive, metadata())).rejects.toMatchObject({
        code: status.INVALID_ARGUMENT,
      });
    }
    expect(await sh("ls -A /work/target; test -e /work/escaped.txt || echo clean")).toBe("existing.txt\nclean\n");
  });
});
