import { randomBytes } from "node:crypto";
import { readFile, mkdtemp, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, removeTestRunners } from "../../control-plane/test/docker-cleanup.js";
import { ComposeStack, findCompose, freeLoopbackPort, runInRepo } from "../support/compose-stack.js";
import { callTool, connectClient } from "../support/mcp-client.js";
import { TOOL_NAMES } from "../support/tool-names.js";

/** Offline inputs of images/control-plane/Dockerfile, built by images/build-test-images.sh (`npm test` runs it). */
const OFFLINE_BUILD = { BASE_IMAGE: "devhatchery-test/debian:bookworm", NODE_IMAGE: "devhatchery-test/node:24.21.0" };
/** A plain Debian without the agent: runners of it get the agent injected from the image's pre-seeded Node runtime. */
const INJECTED_IMAGE = "devhatchery-test/debian:bookworm";

async function agentVolumeNames(): Promise<string[]> {
  const { Volumes } = await docker.listVolumes({ filters: { label: ["io.devhatchery.kind=agent"] } });
  return (Volumes ?? []).map((volume) => volume.Name);
}

/** Polls until `check` returns a value, at most `attempts` times `intervalMs` apart. */
async function waitFor<T>(
  what: string,
  attempts: number,
  intervalMs: number,
  check: () => Promise<T | undefined>,
): Promise<T> {
  let last: unknown;
  for (let attempt = 0; attempt < attempts; attempt++) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(
    `${what} did not happen within ${(attempts * intervalMs) / 1000} s${last ? `: ${String(last)}` : ""}`,
  );
}

describe("compose.yaml: the control plane in a container", () => {
  const suffix = randomBytes(4).toString("hex");
  const tag = `devhatchery-test/control-plane:e2e-${suffix}`;
  const network = `devhatchery-e2e-compose-${suffix}`;
  const user = { principal: `e2e-compose-${suffix}`, token: randomBytes(24).toString("hex") };
  let workDir: string;
  let stack: ComposeStack | undefined;
  let port: number;
  let agentVolumesBefore: string[] = [];
  let client: Client | undefined;

  beforeAll(async () => {
    agentVolumesBefore = await agentVolumeNames();
    const command = await findCompose();
    await runInRepo("bash", ["images/control-plane/build.sh"], { ...OFFLINE_BUILD, TAG: tag, SKIP_NPM_BUILD: "1" });
    port = await freeLoopbackPort();
    workDir = await mkdtemp(join(tmpdir(), "devhatchery-compose-"));
    const overrideFile = join(workDir, "compose.override.yaml");
    // Only what a test must change: its own network, principal and image; the health check runs more often.
    await writeFile(
      overrideFile,
      [
        "services:",
        "  control-plane:",
        "    environment:",
        `      DEVHATCHERY_RUNNER_NETWORK: ${network}`,
        `      DEVHATCHERY_DEFAULT_IMAGE: ${INJECTED_IMAGE}`,
        `      DEVHATCHERY_BEARER_TOKENS: ${user.principal}:${user.token}`,
        "    healthcheck:",
        "      interval: 1s",
        "",
      ].join("\n"),
    );
    stack = new ComposeStack(command, `devhatchery-e2e-compose-${suffix}`, overrideFile, {
      DEVHATCHERY_IMAGE: tag,
      DEVHATCHERY_PORT: String(port),
    });
    await stack.run(["up", "-d"]);
    try {
      await waitFor("GET /healthz", 60, 500, async () =>
        (await fetch(`http://127.0.0.1:${port}/healthz`)).ok ? true : undefined,
      );
    } catch (error) {
      throw new Error(
        `${(error as Error).message}\ncontrol plane logs:\n${await stack.run(["logs", "--no-color"]).catch(String)}`,
      );
    }
    client = await connectClient(`http://127.0.0.1:${port}/mcp`, user.token);
  });

  afterAll(async () => {
    await client?.close().catch(() => undefined);
    await stack?.down();
    await removeTestRunners([user.principal], network);
    const { Volumes } = await docker.listVolumes({ filters: { label: [`io.devhatchery.owner=${user.principal}`] } });
    await Promise.all(
      (Volumes ?? []).map((volume) =>
        docker
          .getVolume(volume.Name)
          .remove()
          .catch(() => undefined),
      ),
    );
    // An agent volume this test's control plane filled; one another test uses right now stays (removal fails).
    const created = (await agentVolumeNames()).filter((name) => !agentVolumesBefore.includes(name));
    await Promise.all(
      created.map((name) =>
        docker
          .getVolume(name)
          .remove()
          .catch(() => undefined),
      ),
    );
    await docker
      .getImage(tag)
      .remove()
      .catch(() => undefined);
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it("runs on the host network as uid 10001 in the Docker socket's group, without capabilities, and turns healthy", async () => {
    const id = await stack!.containerId("control-plane");
    const info = await waitFor("the HEALTHCHECK to pass", 40, 500, async () => {
      const inspected = await docker.getContainer(id).inspect();
      return inspected.State.Health?.Status === "healthy" ? inspected : undefined;
    });
    expect(info.HostConfig.NetworkMode).toBe("host");
    expect(info.HostConfig.ReadonlyRootfs).toBe(true);
    const status = await readFile(`/proc/${info.State.Pid}/status`, "utf8");
    const socketGroup = (await stat("/var/run/docker.sock")).gid;
    // Docker's init is PID 1 of the container; the control plane is its child.
    const children = (await readFile(`/proc/${info.State.Pid}/task/${info.State.Pid}/children`, "utf8"))
      .trim()
      .split(/\s+/);
    const node = await readFile(`/proc/${children[0]}/status`, "utf8");
    expect(status).toMatch(/^Name:\s+docker-init$/m);
    expect(node).toMatch(/^Uid:\s+10001\s+10001\s+10001\s+10001$/m);
    expect(node).toMatch(new RegExp(`^Groups:\\s+${socketGroup}\\s*$`, "m"));
    expect(node).toMatch(/^CapEff:\s+0+$/m);
    expect(node).toMatch(/^NoNewPrivs:\s+1$/m);
  });

  it("is ready: Docker reachable through the socket, the state store open on its volume, agent delivery prepared", async () => {
    // Readiness only observes: it turns ready once start-up has prepared the default image (in the background).
    const response = await waitFor("/readyz to answer ready", 120, 500, async () => {
      const answer = await fetch(`http://127.0.0.1:${port}/readyz`);
      return answer.status === 200 ? answer : void (await answer.body?.cancel());
    });
    const body = (await response.json()) as { status: string; checks: Array<{ name: string; ok: boolean }> };
    expect(response.status).toBe(200);
    expect(body.status).toBe("ready");
    expect(body.checks.map((check) => [check.name, check.ok]).sort()).toEqual([
      ["agent", true],
      ["docker", true],
      ["store", true],
    ]);
  });

  it("has the devhatchery CLI, which validates the mounted configuration as the server's user", async () => {
    const output = await stack!.run(["exec", "-T", "control-plane", "devhatchery", "validate"]);
    expect(output).toMatch(/^OK: \/etc\/devhatchery\/devhatchery\.yaml\b/);
    expect(await stack!.run(["exec", "-T", "control-plane", "devhatchery", "--version"])).toMatch(
      /^devhatchery \d+\.\d+\.\d+\n$/,
    );
  });

  it("serves tools/list on the host's loopback port to an MCP client with a bearer token, and refuses one without", async () => {
    const { tools } = await client!.listTools();
    expect(tools.map((tool) => tool.name).sort()).toEqual(TOOL_NAMES);
    const anonymous = await fetch(`http://127.0.0.1:${port}/mcp`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: "{}",
    });
    expect(anonymous.status).toBe(401);
  });

  it("spawns a runner with the injected agent (no npm in the image), runs echo in it, and the runner cannot reach the control plane", async () => {
    const spawned = await callTool(client!, "runner_spawn", {});
    expect(spawned.result.isError).toBeFalsy();
    expect(spawned.structured).toMatchObject({ image: INJECTED_IMAGE, status: "ready" });
    const runner = spawned.structured.runner_id as string;

    const echo = await callTool(client!, "exec", { runner, command: "echo hello from compose" });
    expect(echo.structured).toMatchObject({ exit_code: 0, stdout: "hello from compose\n", stderr: "" });

    // The control plane listens on the host's loopback; from a runner, the host is its network's gateway.
    const gateway = (await docker.getNetwork(network).inspect()).IPAM?.Config?.[0]?.Gateway as string;
    expect(gateway).toMatch(/^\d+\.\d+\.\d+\.\d+$/);
    const probe = await callTool(client!, "exec", {
      runner,
      command: ["bash", "-c", `exec 3<>/dev/tcp/${gateway}/${port}`],
    });
    expect(probe.structured).toMatchObject({ exit_code: 1 });
    expect(probe.structured.stderr).toContain("Connection refused");
  });
});
