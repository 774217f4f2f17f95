import { createHash, randomBytes } from "node:crypto";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { removeTestRunners } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { readExecToEnd } from "../support/exec-reads.js";
import { callTool, connectClient } from "../support/mcp-client.js";

/** About two minutes of numbered, checksummed lines, like a build; the runner prints the sha256 of all of stdout last, on stderr. */
const BUILD_STEPS = 1100;
const BUILD_COMMAND =
  `i=0; while [ $i -lt ${BUILD_STEPS} ]; do i=$((i+1)); ` +
  `printf 'step %04d %s\\n' $i "$(printf 'unit-%d' $i | sha256sum | cut -c1-32)"; sleep 0.1; done | tee /tmp/build.log; ` +
  "sha256sum /tmp/build.log | cut -d' ' -f1 >&2";

describe("a two-minute build read back through yield and exec_read", () => {
  const suffix = randomBytes(4).toString("hex");
  const principal = `e2e-exec-build-${suffix}`;
  const token = randomBytes(24).toString("hex");
  const network = `devhatchery-e2e-exec-build-${suffix}`;
  let server: ControlPlaneProcess;
  let client: Client;

  beforeAll(async () => {
    server = await startControlPlane({
      DEVHATCHERY_BEARER_TOKENS: `${principal}:${token}`,
      DEVHATCHERY_RUNNER_NETWORK: network,
    });
    client = await connectClient(server.url, token);
  });

  afterAll(async () => {
    await client?.close();
    const code = await server?.stop();
    await removeTestRunners([principal], network);
    expect(code).toBe(0);
  });

  it(
    "accounts for every byte: the sha256 of what was read equals the one computed in the runner",
    { timeout: 300_000 },
    async () => {
      const runner = (await callTool(client, "runner_spawn", {})).structured.runner_id as string;
      const first = await callTool(client, "exec", { runner, command: BUILD_COMMAND, yield_ms: 5_000 });
      expect(first.structured).toMatchObject({ state: "running", omitted_bytes: 0, dropped_bytes: 0 });
      const firstStdout = first.structured.stdout as string;
      expect(firstStdout).toMatch(/^step 0001 [0-9a-f]{32}\n/);

      // Small reads, so that some end in the middle of a line.
      const rest = await readExecToEnd(
        client,
        {
          runner,
          exec_id: first.structured.exec_id as string,
          cursor: first.structured.next_cursor as number,
          max_bytes: 1024,
          wait_ms: 15_000,
        },
        { maxCalls: 2_000, deadlineMs: 240_000 },
      );
      const stdout = firstStdout + rest.stdout;
      const runnerSha = `${first.structured.stderr as string}${rest.stderr}`.trim();
      expect(rest.last).toMatchObject({
        state: "exited",
        exit_code: 0,
        eof: true,
        next_cursor: Buffer.byteLength(stdout) + runnerSha.length + 1,
      });
      expect(rest.droppedBytes).toBe(0);
      expect(rest.calls).toBeGreaterThan(20);
      expect(createHash("sha256").update(stdout).digest("hex")).toBe(runnerSha);
      const lines = stdout.trimEnd().split("\n");
      expect(lines).toHaveLength(BUILD_STEPS);
      lines.forEach((line, index) => {
        const step = index + 1;
        const sum = createHash("sha256").update(`unit-${step}`).digest("hex").slice(0, 32);
        expect(line).toBe(`step ${String(step).padStart(4, "0")} ${sum}`);
      });
    },
  );
});
