import { createHash, randomBytes } from "node:crypto";
import { AGENT_DEFAULT_PORT } from "@devhatchery/proto/contract";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createRuntimeFixture, DEBIAN_IMAGE, runnerLogs, type RuntimeFixture } from "../../test/runtime-fixture.js";
import { fetchAgentDebug } from "./agent-debug.js";
import { AgentClient } from "./agent-client.js";

/** Runs a shell command through the agent and returns its stdout; rejects with the client's ControlPlaneError. */
async function run(client: AgentClient, command: string): Promise<string> {
  let stdout = "";
  const stream = client.exec.start(
    { argv: [], shell: command, cwd: "", env: {}, timeoutMs: 10_000, stdin: Buffer.alloc(0), stdinOpen: false },
    (event) => {
      if (event.type === "output" && event.stream === "stdout") stdout += event.data.toString();
    },
  );
  const exit = await stream.ended;
  if (exit?.exitCode !== 0) throw new Error(`"${command}" exited with ${JSON.stringify(exit)}`);
  return stdout;
}

describe("token rotation in a real runner (the agent of this build, injected)", () => {
  let fixture: RuntimeFixture;
  let runner: Awaited<ReturnType<RuntimeFixture["start"]>>;
  let host: string;
  let address: string;
  let oldToken: string;

  beforeAll(async () => {
    fixture = await createRuntimeFixture("token-rotation");
    runner = await fixture.start({ image: DEBIAN_IMAGE });
    host = runner.address ?? "";
    address = `${host}:${AGENT_DEFAULT_PORT}`;
    oldToken = runner.token ?? "";
  });
  afterAll(async () => {
    await fixture?.cleanup();
  });

  it("rotates through AgentClient: the old token opens nothing, the rotated client still execs", async () => {
    await using client = new AgentClient(runner.runnerId, address, oldToken);
    expect(await client.health.isServing(20_000)).toBe(true);
    expect(await run(client, "echo before")).toBe("before\n");

    const newToken = randomBytes(32).toString("hex");
    await client.rotateToken(newToken);

    expect(await run(client, "echo $((6*7))")).toBe("42\n");
    await using stale = new AgentClient(runner.runnerId, address, oldToken);
    await expect(run(stale, "touch /work/stale-token-ran")).rejects.toMatchObject({
      code: "RUNNER_UNAVAILABLE",
      message: `Runner "${runner.runnerId}" rejected the control plane's token; remove it and spawn a new one.`,
    });
    await expect(stale.rotateToken(randomBytes(32).toString("hex"))).rejects.toMatchObject({
      code: "RUNNER_UNAVAILABLE",
    });
    expect(await run(client, "ls -A /work")).toBe("");

    // The debug endpoint follows the same token.
    await expect(fetchAgentDebug(host, oldToken, runner.runnerId)).rejects.toMatchObject({
      code: "FAILED_PRECONDITION",
      message: `Runner "${runner.runnerId}" refused its debug view (HTTP 401); remove it with runner_remove and spawn a new one.`,
    });
    await expect(fetchAgentDebug(host, newToken, runner.runnerId)).resolves.toMatchObject({
      processes: expect.any(Array),
    });

    // The agent logs the rotation with the new token's fingerprint, and no token.
    const logs = await runnerLogs(runner.runnerId);
    const rotated = logs
      .split("\n")
      .filter((line) => line.includes('"runner token rotated"'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    const fingerprint = createHash("sha256").update(newToken).digest("hex").slice(0, 16);
    expect(rotated).toEqual([expect.objectContaining({ level: 30, fingerprint })]);
    expect(logs).not.toContain(newToken);
    expect(logs).not.toContain(oldToken);
  });
});
