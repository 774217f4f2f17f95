import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../control-plane/test/docker-cleanup.js";
import { follow, LocalRegistry } from "../../control-plane/test/local-registry.js";
import { TEST_RUNNER_IMAGE } from "../support/control-plane-process.js";
import { callTool } from "../support/mcp-client.js";
import {
  eventually,
  ok,
  startRunnersControlPlane,
  testIdentities,
  type RunnersControlPlane,
} from "../support/runners-fixture.js";

/** The runner image plus a layer of `bytes` random bytes of its own, pushed to `registry` and removed locally. */
async function pushRunnerImage(dir: string, tag: string, registry: string, bytes: number): Promise<void> {
  const context = join(dir, `context-${randomBytes(4).toString("hex")}`);
  await mkdir(context);
  await writeFile(join(context, "Dockerfile"), `FROM ${TEST_RUNNER_IMAGE}\nCOPY blob /opt/blob\n`);
  await writeFile(join(context, "blob"), randomBytes(bytes));
  await follow(await docker.buildImage({ context, src: ["Dockerfile", "blob"] }, { t: tag }));
  await follow(await docker.getImage(tag).push({ authconfig: { serveraddress: registry } }));
  // Only its own layer goes: the next pull downloads exactly that.
  await docker.getImage(tag).remove();
  await rm(context, { recursive: true, force: true });
}

/** A spawn that pulls reports the pull's bytes and layers to the client; prepulls show in system_status. */
describe("pull progress for clients", () => {
  const suffix = randomBytes(4).toString("hex");
  const { principals, network, env } = testIdentities("pulls", ["alice"]);
  let dir = "";
  let registry: LocalRegistry;
  let plane: RunnersControlPlane;
  let alice: Client;
  let image = "";
  let prepulled = "";

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "devhatchery-e2e-pulls-"));
    registry = new LocalRegistry(dir, "registry");
    await registry.start(false);
    image = `${registry.address}/devhatchery-test/pulled-${suffix}:1`;
    prepulled = `${registry.address}/devhatchery-test/prepulled-${suffix}:1`;
    await pushRunnerImage(dir, image, registry.address, 24 * 1024 * 1024);
    await pushRunnerImage(dir, prepulled, registry.address, 1024 * 1024);
    plane = await startRunnersControlPlane(principals, network, {
      ...env,
      DEVHATCHERY_IMAGE_REGISTRIES: `docker.io,${registry.address}`,
      DEVHATCHERY_PREPULL: prepulled,
    });
    [alice] = plane.clients as [Client];
  }, 120_000);
  afterAll(async () => {
    await plane?.close();
    registry?.stop();
    for (const name of [image, prepulled])
      await docker
        .getImage(name)
        .remove({ force: true })
        .catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("reports a pull as MCP progress with percent, bytes and layers, then the runner's phases", async () => {
    const { result, progress } = await callTool(alice, "runner_spawn", { image, alias: "pulled", storage: "tmpfs" });
    expect(result.isError, JSON.stringify(result.content)).toBeFalsy();
    const pulling = progress.filter((entry) => entry.message?.startsWith(`pulling ${image}: `));
    expect(pulling.length).toBeGreaterThan(0);
    const percents = pulling
      .map((entry) => /: (\d+)% of ([\d.]+) MB, (\d+) of (\d+) layers$/.exec(entry.message ?? ""))
      .filter((match) => match !== null);
    // The image's own layer is ~25 MB; its other layers are local already.
    expect(percents.length).toBeGreaterThan(0);
    expect(Number(percents.at(-1)![1])).toBe(100);
    expect(Number(percents.at(-1)![2])).toBeGreaterThanOrEqual(25);
    expect(Number(percents.at(-1)![3])).toBeLessThanOrEqual(Number(percents.at(-1)![4]));
    // Progress only grows, and a pull fills 10..50 of it before the runner's own phases.
    const values = progress.map((entry) => entry.progress);
    expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(pulling.every((entry) => entry.progress >= 10 && entry.progress <= 50)).toBe(true);
    expect(progress.map((entry) => entry.message).slice(-3)).toEqual(["creating", "starting", "ready"]);
    // Throttled: never more reports than whole percents and statuses.
    expect(pulling.length).toBeLessThan(120);
  });

  it("shows the prepulls in system_status", async () => {
    const status = await eventually("the prepull to finish", async () => {
      const now = await ok(alice, "system_status");
      const entries = now.prepulls as Array<{ state: string }> | undefined;
      return entries?.[0]?.state === "ready" ? now : undefined;
    });
    expect(status.prepulls).toEqual([{ image: prepulled, state: "ready" }]);
  });
});
