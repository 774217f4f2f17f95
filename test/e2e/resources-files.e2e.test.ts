import { randomBytes } from "node:crypto";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeTestRunners } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { callTool, connectClient } from "../support/mcp-client.js";
import {
  connectClientWithTransport,
  recordResourceNotifications,
  type ResourceNotifications,
} from "../support/resource-client.js";

const FILE_TEMPLATE = "devhatchery://runners/{runner}/files/{+path}";
const RUNNER_TEMPLATE = "devhatchery://runners/{runner}";
const PNG = Buffer.from("89504e470d0a1a0a0000000d4948445200000001000000010806000000", "hex");
const CAP = 1024 * 1024;

describe("runner files and runners as MCP resources, with subscriptions", () => {
  const suffix = randomBytes(4).toString("hex");
  const alice = { principal: `e2e-res-alice-${suffix}`, token: randomBytes(24).toString("hex") };
  const bob = { principal: `e2e-res-bob-${suffix}`, token: randomBytes(24).toString("hex") };
  const network = `devhatchery-e2e-res-${suffix}`;
  let server: ControlPlaneProcess;
  let asAlice: Client;
  let aliceTransport: StreamableHTTPClientTransport;
  let asBob: Client;
  let notes: ResourceNotifications;
  let runnerId: string;
  const file = (path: string): string => `devhatchery://runners/${runnerId}/files/${path}`;
  const write = async (path: string, content: string, encoding = "utf8"): Promise<void> => {
    const { result } = await callTool(asAlice, "fs_write", { runner: runnerId, path, content, encoding });
    expect(result.isError, path).toBeFalsy();
  };

  beforeAll(async () => {
    server = await startControlPlane({
      DEVHATCHERY_BEARER_TOKENS: `${alice.principal}:${alice.token},${bob.principal}:${bob.token}`,
      DEVHATCHERY_RUNNER_NETWORK: network,
    });
    ({ client: asAlice, transport: aliceTransport } = await connectClientWithTransport(server.url, alice.token));
    notes = recordResourceNotifications(asAlice);
    asBob = await connectClient(server.url, bob.token);
    const spawned = await callTool(asAlice, "runner_spawn", {});
    runnerId = spawned.structured.runner_id as string;
    await write("/work/notes/todo.txt", "ship it\n");
    await write("/work/app/main.py", "print('hi')\n");
    await write("/work/app/logo.png", PNG.toString("base64"), "base64");
  });

  afterAll(async () => {
    await asAlice?.close();
    await asBob?.close();
    const code = await server?.stop();
    await removeTestRunners([alice.principal, bob.principal], network);
    expect(code).toBe(0);
  });

  it("declares subscribe and listChanged and offers the runner and file templates", async () => {
    expect(asAlice.getServerCapabilities()?.resources).toEqual({ subscribe: true, listChanged: true });
    const { resourceTemplates } = await asAlice.listResourceTemplates();
    expect(resourceTemplates.map((template) => template.uriTemplate)).toEqual(
      expect.arrayContaining([RUNNER_TEMPLATE, FILE_TEMPLATE]),
    );
  });

  it("announces list changes when a runner of the session's principal is spawned", () => {
    expect(notes.listChanged()).toBeGreaterThanOrEqual(1);
  });

  it("reads the runner resource: status, image, workspace, storage, created, last activity, files URI", async () => {
    const { contents } = await asAlice.readResource({ uri: `devhatchery://runners/${runnerId}` });
    expect(contents).toHaveLength(1);
    const [content] = contents;
    expect(content?.mimeType).toBe("application/json");
    expect(JSON.parse(content && "text" in content ? content.text : "")).toMatchObject({
      runner_id: runnerId,
      image: "devhatchery-test/runner:dev",
      status: "ready",
      workspace_key: runnerId,
      storage: "volume",
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      last_activity_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
      files_uri: file("work"),
    });
  });

  it("reads a text file as text and a binary file as a base64 blob, with its media type", async () => {
    const text = await asAlice.readResource({ uri: file("work/app/main.py") });
    expect(text.contents).toEqual([
      {
        uri: file("work/app/main.py"),
        mimeType: "text/x-python",
        text: "print('hi')\n",
        _meta: { "io.devhatchery/etag": expect.any(String), "io.devhatchery/size": 12 },
      },
    ]);
    const blob = await asAlice.readResource({ uri: file("work/app/logo.png") });
    expect(blob.contents[0]).toMatchObject({
      uri: file("work/app/logo.png"),
      mimeType: "image/png",
      blob: PNG.toString("base64"),
    });
    expect(blob.contents[0]).not.toHaveProperty("text");
  });

  it("reads a directory as a JSON listing of its entries, each with the URI to read it by", async () => {
    const listing = await asAlice.readResource({ uri: file("work/app") });
    expect(listing.contents).toEqual([
      {
        uri: file("work/app"),
        mimeType: "application/json",
        text: expect.any(String),
        _meta: { "io.devhatchery/type": "directory" },
      },
    ]);
    const body = JSON.parse((listing.contents[0] as { text: string }).text) as unknown;
    expect(body).toEqual({
      path: "/work/app",
      entries: [
        { name: "logo.png", type: "file", size: PNG.length, uri: file("work/app/logo.png") },
        { name: "main.py", type: "file", size: 12, uri: file("work/app/main.py") },
      ],
      truncated: false,
    });
    const root = JSON.parse(
      ((await asAlice.readResource({ uri: file("work") })).contents[0] as { text: string }).text,
    ) as { entries: { name: string; type: string; uri: string }[] };
    expect(root.entries).toEqual(
      expect.arrayContaining([expect.objectContaining({ name: "app", type: "directory", uri: file("work/app") })]),
    );
  });

  it("refuses a file over the cap, and a missing file, with errors that say what to do", async () => {
    await callTool(asAlice, "exec", { runner: runnerId, command: `head -c ${CAP + 1} /dev/zero > /work/big.bin` });
    await expect(asAlice.readResource({ uri: file("work/big.bin") })).rejects.toMatchObject({
      code: -32602,
      message:
        `MCP error -32602: RESOURCE_EXHAUSTED: File "/work/big.bin" is ${CAP + 1} bytes, more than the ${CAP}-byte cap on file resources; ` +
        `read it in ranges with the fs_read tool (offset and length, at most ${CAP} bytes each). Ask for less at once (a smaller range or file), or free space in the runner.`,
      data: { code: "RESOURCE_EXHAUSTED" },
    });
    await expect(asAlice.readResource({ uri: file("work/nope.txt") })).rejects.toMatchObject({
      code: -32002,
      message:
        'MCP error -32002: NOT_FOUND: Cannot read "/work/nope.txt": no such file or directory Check the path or name above: fs_list shows what a folder in the runner holds, runner_list shows your runners.',
    });
  });

  it("lists the runner and its files under /work (the default root), files only", async () => {
    const { resources } = await asAlice.listResources();
    const uris = resources.map((resource) => resource.uri);
    expect(uris).toEqual(
      expect.arrayContaining([
        `devhatchery://runners/${runnerId}`,
        file("work/notes/todo.txt"),
        file("work/app/main.py"),
        file("work/app/logo.png"),
      ]),
    );
    expect(uris).not.toContain(file("work/notes"));
    expect(resources.find((resource) => resource.uri === file("work/notes/todo.txt"))).toMatchObject({
      name: "/work/notes/todo.txt",
      mimeType: "text/plain",
      size: 8,
    });
  });

  it("completes runner ids and paths", async () => {
    const runners = await asAlice.complete({
      ref: { type: "ref/resource", uri: FILE_TEMPLATE },
      argument: { name: "runner", value: "r-" },
    });
    expect(runners.completion.values).toEqual([runnerId]);
    const complete = async (value: string): Promise<string[]> =>
      (
        await asAlice.complete({
          ref: { type: "ref/resource", uri: FILE_TEMPLATE },
          argument: { name: "path", value },
          context: { arguments: { runner: runnerId } },
        })
      ).completion.values;
    expect(await complete("work/a")).toEqual(["work/app/"]);
    expect(await complete("work/app/")).toEqual(["work/app/logo.png", "work/app/main.py"]);
    expect(await complete("")).toEqual(expect.arrayContaining(["work/app/", "work/notes/", "work/big.bin"]));
    expect(await complete("work/zzz/")).toEqual([]);
    const viaRunnerTemplate = await asAlice.complete({
      ref: { type: "ref/resource", uri: RUNNER_TEMPLATE },
      argument: { name: "runner", value: runnerId.slice(0, 5) },
    });
    expect(viaRunnerTemplate.completion.values).toEqual([runnerId]);
  });

  it("sends resources/updated for a subscribed file when it changes, and stops after unsubscribe", async () => {
    const uri = file("work/notes/todo.txt");
    await asAlice.subscribeResource({ uri });
    await write("/work/notes/todo.txt", "ship it now\n");
    await expect
      .poll(() => notes.updated.filter((updated) => updated === uri).length, { timeout: 10_000 })
      .toBeGreaterThanOrEqual(1);

    await asAlice.unsubscribeResource({ uri });
    const before = notes.updated.filter((updated) => updated === uri).length;
    // A sentinel subscription written after the unsubscribed file: once its update arrives, the other would have too.
    const sentinel = file("work/notes/sentinel.txt");
    await asAlice.subscribeResource({ uri: sentinel });
    await write("/work/notes/todo.txt", "changed after unsubscribe\n");
    await write("/work/notes/sentinel.txt", "sentinel\n");
    await expect.poll(() => notes.updated.includes(sentinel), { timeout: 10_000 }).toBe(true);
    expect(notes.updated.filter((updated) => updated === uri).length).toBe(before);
    await asAlice.unsubscribeResource({ uri: sentinel });
  });

  it("sends resources/updated for a subscribed directory when anything below it changes", async () => {
    const uri = file("work/app");
    await asAlice.subscribeResource({ uri });
    await write("/work/app/lib/deep/util.py", "x = 1\n");
    await expect.poll(() => notes.updated.includes(uri), { timeout: 10_000 }).toBe(true);
    await asAlice.unsubscribeResource({ uri });
  });

  it("keeps alice's runner and files invisible to bob: read, subscribe, list and complete", async () => {
    const notFound = `Runner "${runnerId}" not found for this principal; spawn one with runner_spawn.`;
    await expect(asBob.readResource({ uri: file("work/notes/todo.txt") })).rejects.toMatchObject({
      code: -32002,
      message: expect.stringContaining(notFound),
    });
    await expect(asBob.readResource({ uri: `devhatchery://runners/${runnerId}` })).rejects.toMatchObject({
      code: -32002,
      message: expect.stringContaining(notFound),
    });
    await expect(asBob.subscribeResource({ uri: file("work/notes/todo.txt") })).rejects.toMatchObject({
      code: -32002,
      message: expect.stringContaining(notFound),
    });
    await expect(asBob.subscribeResource({ uri: `devhatchery://runners/${runnerId}` })).rejects.toMatchObject({
      code: -32002,
      message: expect.stringContaining(notFound),
    });
    const { resources } = await asBob.listResources();
    expect(resources.filter((resource) => resource.uri.includes(runnerId))).toEqual([]);
    const completion = await asBob.complete({
      ref: { type: "ref/resource", uri: FILE_TEMPLATE },
      argument: { name: "path", value: "work/" },
      context: { arguments: { runner: runnerId } },
    });
    expect(completion.completion.values).toEqual([]);
  });

  it("sends resources/updated on a subscribed runner when it is removed, and announces the list change", async () => {
    const second = (await callTool(asAlice, "runner_spawn", {})).structured.runner_id as string;
    const uri = `devhatchery://runners/${second}`;
    await asAlice.subscribeResource({ uri });
    const listChanges = notes.listChanged();
    await callTool(asAlice, "runner_remove", { runner: second });
    await expect.poll(() => notes.updated.includes(uri), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => notes.listChanged(), { timeout: 10_000 }).toBeGreaterThan(listChanges);
    await asAlice.unsubscribeResource({ uri });
    await expect(asAlice.readResource({ uri })).rejects.toMatchObject({ code: -32002 });
  });

  it("refuses to subscribe to a URI nothing can follow", async () => {
    await expect(asAlice.subscribeResource({ uri: "https://example.com/x" })).rejects.toMatchObject({
      code: -32602,
      message: expect.stringContaining('INVALID_ARGUMENT: Resource "https://example.com/x" cannot be subscribed to;'),
    });
  });

  it("closes the agent's watches when the session ends", async () => {
    const debugUrl = server.url.replace(/\/mcp$/, `/runners/${runnerId}/debug`);
    const watchCount = async (): Promise<number> =>
      (
        (await (await fetch(debugUrl, { headers: { authorization: `Bearer ${alice.token}` } })).json()) as {
          watches: unknown[];
        }
      ).watches.length;
    await asAlice.subscribeResource({ uri: file("work/notes") });
    await asAlice.subscribeResource({ uri: file("work/app/main.py") });
    expect(await watchCount()).toBe(2);
    await aliceTransport.terminateSession();
    await expect.poll(watchCount, { timeout: 10_000 }).toBe(0);
  });
});
