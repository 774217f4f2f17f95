import { execFile } from "node:child_process";
import { createWriteStream } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../log.js";
import { AgentPayload } from "./agent-payload.js";
import { AGENT_NODE_VERSION, NodeRuntimeCache } from "./node-runtime-cache.js";

const run = promisify(execFile);

describe("AgentPayload", () => {
  let dir: string;
  let payload: AgentPayload;
  const bundlePath = (): string => join(dir, "dist", "agent.cjs");

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "devhatchery-payload-"));
    await mkdir(join(dir, "dist"));
    await writeFile(bundlePath(), "console.log('agent');\n");
    // An operator-placed runtime: the cache uses it without running npm.
    const nodeRuntimes = new NodeRuntimeCache(
      { cacheDir: join(dir, "cache"), npmCommand: "/nonexistent/npm" },
      createLogger("silent"),
    );
    await mkdir(join(nodeRuntimes.binaryPath("x64"), ".."), { recursive: true });
    await writeFile(nodeRuntimes.binaryPath("x64"), "#!/bin/sh\n");
    payload = new AgentPayload(bundlePath(), "1.2.3", nodeRuntimes);
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("names and labels the volume by version, content digest and architecture; any changed file changes the digest", async () => {
    const first = await payload.snapshot();
    expect(payload.volumeName(first, "x64")).toMatch(/^devhatchery-agent-1\.2\.3-[0-9a-f]{12}-x64$/);
    expect(payload.volumeLabels(first, "arm64")).toEqual({
      "io.devhatchery.managed": "true",
      "io.devhatchery.kind": "agent",
      "io.devhatchery.agent.version": "1.2.3",
      "io.devhatchery.agent.digest": first.digest,
      "io.devhatchery.agent.arch": "arm64",
    });
    expect(await payload.snapshot()).toBe(first);

    await writeFile(join(dir, "dist", "node-pty-linux-x64.node"), "addon");
    const withAddon = await payload.snapshot();
    expect(withAddon.digest).not.toBe(first.digest);
    await writeFile(bundlePath(), "console.log('agent, rebuilt');\n");
    const rebuilt = await payload.snapshot();
    expect(new Set([first.digest, withAddon.digest, rebuilt.digest]).size).toBe(3);
  });

  it("archives bin/node, agent.cjs and the native addons beside the bundle, and a marker that records what it holds", async () => {
    await writeFile(join(dir, "dist", "node-pty-linux-x64.node"), "addon");
    await writeFile(join(dir, "dist", "agent.d.ts"), "not shipped");
    const snapshot = await payload.snapshot();
    const content = await payload.prepare(snapshot, "x64", () => {});
    await pipeline(content(), createWriteStream(join(dir, "content.tar")));
    const { stdout } = await run("tar", ["-tvf", join(dir, "content.tar"), "--numeric-owner"]);
    expect(
      stdout
        .split("\n")
        .filter(Boolean)
        .map((line) => `${line.split(/\s+/)[0]} ${line.split(/\s+/).at(-1)}`),
    ).toEqual(["drwxr-xr-x bin/", "-rwxr-xr-x bin/node", "-rw-r--r-- agent.cjs", "-rw-r--r-- node-pty-linux-x64.node"]);

    await pipeline(payload.marker(snapshot, "x64"), createWriteStream(join(dir, "marker.tar")));
    await run("tar", ["-xf", join(dir, "marker.tar"), "-C", dir]);
    expect(JSON.parse(await readFile(join(dir, ".devhatchery-agent-complete"), "utf8"))).toEqual({
      version: "1.2.3",
      digest: snapshot.digest,
      node: AGENT_NODE_VERSION,
      arch: "x64",
    });
  });
});
