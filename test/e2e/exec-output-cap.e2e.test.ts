import { randomBytes } from "node:crypto";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestImage } from "../../control-plane/test/build-test-image.js";
import { docker, removeTestRunners } from "../../control-plane/test/docker-cleanup.js";
import { TEST_RUNNER_IMAGE, startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { readExecToEnd } from "../support/exec-reads.js";
import { callTool, connectClient, textOf } from "../support/mcp-client.js";

/** The agent's per-process output cap in this test's image (its minimum is 4 × the in-memory ring). */
const MAX_OUTPUT_BYTES = 64 * 1024;
const RING_BYTES = 16 * 1024;
const LINES = 60_000;

describe("output past the agent's cap is reported as dropped_bytes, never silently lost", () => {
  const suffix = randomBytes(4).toString("hex");
  const principal = `e2e-exec-cap-${suffix}`;
  const token = randomBytes(24).toString("hex");
  const network = `devhatchery-e2e-exec-cap-${suffix}`;
  const image = `devhatchery-test/runner-small-cap:${suffix}`;
  let server: ControlPlaneProcess;
  let client: Client;

  beforeAll(async () => {
    // The cap is the agent's own setting (DEVHATCHERY_AGENT_EXEC_*): a runner image can set it with ENV.
    await buildTestImage({
      tag: image,
      context: {
        dockerfile: `FROM ${TEST_RUNNER_IMAGE}\nENV DEVHATCHERY_AGENT_EXEC_MAX_OUTPUT_BYTES=${MAX_OUTPUT_BYTES} DEVHATCHERY_AGENT_EXEC_RING_BYTES=${RING_BYTES}\n`,
      },
    });
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
    await docker
      .getImage(image)
      .remove({ force: true })
      .catch(() => undefined);
    expect(code).toBe(0);
  });

  it("reads the kept tail after the dropped bytes, and exec_list shows the same count", async () => {
    const spawned = await callTool(client, "runner_spawn", { image });
    expect(spawned.result.isError, textOf(spawned.result)).toBeFalsy();
    const runner = spawned.structured.runner_id as string;
    const expected = Array.from({ length: LINES }, (_, i) => `${i + 1}\n`).join("");

    const started = await callTool(client, "exec", { runner, command: `seq 1 ${LINES}`, yield_ms: 0 });
    const execId = started.structured.exec_id as string;
    await expect
      .poll(
        async () =>
          (
            (await callTool(client, "exec_list", { runner })).structured.execs as { exec_id: string; state: string }[]
          ).find((exec) => exec.exec_id === execId)?.state,
        {
          timeout: 10_000,
        },
      )
      .toBe("exited");

    const read = await readExecToEnd(
      client,
      { runner, exec_id: execId, cursor: 0, max_bytes: 16 * 1024, wait_ms: 0 },
      { maxCalls: 20, deadlineMs: 30_000 },
    );
    expect(read.droppedBytes).toBeGreaterThanOrEqual(expected.length - MAX_OUTPUT_BYTES);
    expect(read.droppedBytes).toBeLessThan(expected.length);
    expect(read.stdout).toBe(expected.slice(read.droppedBytes));
    expect(read.last).toMatchObject({ exit_code: 0, eof: true, next_cursor: expected.length });

    const first = await callTool(client, "exec_read", {
      runner,
      exec_id: execId,
      cursor: 0,
      max_bytes: 1024,
      wait_ms: 0,
    });
    expect(first.structured).toMatchObject({
      cursor: 0,
      dropped_bytes: read.droppedBytes,
      next_cursor: read.droppedBytes + 1024,
    });
    expect(textOf(first.result)).toContain(
      `bytes 0–${read.droppedBytes + 1024} (${read.droppedBytes} bytes dropped before them by the output cap)`,
    );

    const listed = (await callTool(client, "exec_list", { runner })).structured.execs as Record<string, unknown>[];
    expect(listed.find((exec) => exec.exec_id === execId)).toMatchObject({
      output_bytes: expected.length,
      dropped_bytes: read.droppedBytes,
    });
  });
});
