import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeTestRunners } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { callTool, textOf } from "../support/mcp-client.js";
import {
  connectClientWithRoots,
  recordResourceNotifications,
  type ResourceNotifications,
  type RootsClient,
} from "../support/resource-client.js";

describe("client roots: resources/list stays within them, relative paths resolve against them", () => {
  const suffix = randomBytes(4).toString("hex");
  const alice = { principal: `e2e-roots-alice-${suffix}`, token: randomBytes(24).toString("hex") };
  const network = `devhatchery-e2e-roots-${suffix}`;
  let server: ControlPlaneProcess;
  let roots: RootsClient;
  let notes: ResourceNotifications;
  let runnerId: string;
  const file = (path: string): string => `devhatchery://runners/${runnerId}/files/${path}`;
  const listedFiles = async (): Promise<string[]> =>
    (await roots.client.listResources()).resources
      .map((resource) => resource.uri)
      .filter((uri) => uri.includes("/files/"))
      .sort();
  const watchedPath = async (path: string, runner = runnerId): Promise<string> => {
    const { result, structured } = await callTool(roots.client, "fs_watch", { runner, path });
    expect(result.isError, textOf(result)).toBeFalsy();
    return structured.path as string;
  };
  /** Changes the roots and waits until the server re-read them and said the resource list changed. */
  const changeRoots = async (uris: string[]): Promise<void> => {
    const [requests, changes] = [roots.rootsRequests(), notes.listChanged()];
    await roots.setRoots(uris.map((uri) => ({ uri })));
    await expect
      .poll(() => roots.rootsRequests() > requests && notes.listChanged() > changes, { timeout: 10_000 })
      .toBe(true);
  };

  beforeAll(async () => {
    server = await startControlPlane({
      DEVHATCHERY_BEARER_TOKENS: `${alice.principal}:${alice.token}`,
      DEVHATCHERY_RUNNER_NETWORK: network,
    });
    roots = await connectClientWithRoots(server.url, alice.token, [
      { uri: "file:///home/me/project", name: "my laptop's folder" },
      { uri: "file:///work/app" },
    ]);
    notes = recordResourceNotifications(roots.client);
    runnerId = (await callTool(roots.client, "runner_spawn", { alias: "rooted" })).structured.runner_id as string;
    for (const path of ["/work/top.txt", "/work/app/a.txt", "/work/app/src/deep.txt", "/work/lib/b.txt"]) {
      const { result } = await callTool(roots.client, "fs_write", { runner: runnerId, path, content: path });
      expect(result.isError).toBeFalsy();
    }
  });

  afterAll(async () => {
    await roots?.client.close();
    const code = await server?.stop();
    await removeTestRunners([alice.principal], network);
    expect(code).toBe(0);
  });

  it("asks the client for its roots and lists only files under the folder roots (client-local roots name nothing)", async () => {
    expect(await listedFiles()).toEqual([file("work/app/a.txt"), file("work/app/src/deep.txt")]);
    expect(roots.rootsRequests()).toBeGreaterThanOrEqual(1);
    const { resources } = await roots.client.listResources();
    expect(resources.map((resource) => resource.uri)).toContain(`devhatchery://runners/${runnerId}`);
  });

  it("resolves relative paths against the first matching root and keeps absolute ones", async () => {
    expect(await watchedPath(".")).toBe("/work/app");
    expect(await watchedPath("src")).toBe("/work/app/src");
    expect(await watchedPath("../lib")).toBe("/work/lib");
    expect(await watchedPath("/work")).toBe("/work");
  });

  it("follows changed roots: a runner-scoped root narrows the list and becomes the base of relative paths", async () => {
    await changeRoots([`devhatchery://runners/${runnerId}/files/work/lib`, "file:///work/app"]);
    expect(await listedFiles()).toEqual([
      file("work/app/a.txt"),
      file("work/app/src/deep.txt"),
      file("work/lib/b.txt"),
    ]);
    expect(await watchedPath(".")).toBe("/work/lib");
    expect(await watchedPath(".", "rooted")).toBe("/work/lib");
  });

  it("lists nothing of this runner's files when the roots name folders of another runner only", async () => {
    await changeRoots(["devhatchery://runners/r-000000000000/files/work"]);
    expect(await listedFiles()).toEqual([]);
    expect(await watchedPath(".")).toBe("/work");
  });

  it("falls back to /work when no root names a folder in a runner", async () => {
    await changeRoots(["devhatchery://workspaces/shop-api"]);
    expect(await listedFiles()).toEqual([
      file("work/app/a.txt"),
      file("work/app/src/deep.txt"),
      file("work/lib/b.txt"),
      file("work/top.txt"),
    ]);
    expect(await watchedPath("app")).toBe("/work/app");
  });
});
