import { randomBytes } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestImage } from "../../control-plane/test/build-test-image.js";
import { docker } from "../../control-plane/test/docker-cleanup.js";
import {
  ok,
  sh,
  startRunnersControlPlane,
  testIdentities,
  type RunnersControlPlane,
} from "../support/runners-fixture.js";

const EXAMPLE_DIR = fileURLToPath(new URL("../../images/examples/claude-code", import.meta.url));
const CLAUDE_CODE_VERSION = /^ARG CLAUDE_CODE_VERSION=(\S+)$/m.exec(
  readFileSync(join(EXAMPLE_DIR, "Dockerfile"), "utf8"),
)?.[1];
const AGENT_VERSION = (
  JSON.parse(readFileSync(new URL("../../runner-agent/package.json", import.meta.url), "utf8")) as { version: string }
).version;
const JOB_DIR = "/dev/shm/devhatchery-job";
const KEY = `sk-ant-test-${randomBytes(8).toString("hex")}`;
const TASK = "Reply with the word pong. (task marker 7f3a)";
const FAKE_API_PORT = 8123;

/**
 * A stand-in for the Anthropic Messages API inside the runner: answers every streamed request with one text block and
 * logs the key each request carried and whether it carried the task, one JSON line a request.
 */
const FAKE_API = `
const http = require("node:http");
const fs = require("node:fs");
http
  .createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      fs.appendFileSync("/tmp/fake-api.log", JSON.stringify({
        path: request.url.split("?")[0],
        apiKey: request.headers["x-api-key"],
        hasTask: body.includes(${JSON.stringify(TASK)}),
      }) + "\\n");
      if (!request.url.startsWith("/v1/messages") || request.url.includes("count_tokens")) {
        response.writeHead(404, { "content-type": "application/json" });
        return response.end('{"type":"error","error":{"type":"not_found_error","message":"not here"}}');
      }
      const model = JSON.parse(body).model;
      response.writeHead(200, { "content-type": "text/event-stream" });
      const send = (type, data) => response.write("event: " + type + "\\ndata: " + JSON.stringify({ type, ...data }) + "\\n\\n");
      send("message_start", { message: { id: "msg_1", type: "message", role: "assistant", model, content: [],
        stop_reason: null, stop_sequence: null, usage: { input_tokens: 10, output_tokens: 1 } } });
      send("content_block_start", { index: 0, content_block: { type: "text", text: "" } });
      send("content_block_delta", { index: 0, delta: { type: "text_delta", text: "pong from the stand-in API" } });
      send("content_block_stop", { index: 0 });
      send("message_delta", { delta: { stop_reason: "end_turn", stop_sequence: null }, usage: { output_tokens: 5 } });
      send("message_stop", {});
      response.end();
    });
  })
  .listen(${FAKE_API_PORT}, "127.0.0.1", () => fs.writeFileSync("/tmp/fake-api.ready", ""));
`;

/**
 * PEM certificates the host trusts besides the distribution's (Debian's folder for local CAs): behind a proxy that
 * re-signs TLS, the build's npm install needs the same trust as the host. Empty elsewhere.
 */
function hostExtraCaCertificates(dir = "/usr/local/share/ca-certificates"): string {
  if (!existsSync(dir)) return "";
  return readdirSync(dir, { recursive: true, encoding: "utf8" })
    .filter((name) => name.endsWith(".crt"))
    .sort()
    .map((name) => readFileSync(join(dir, name), "utf8").trim())
    .join("\n");
}

describe("the Claude Code example image (images/examples/claude-code)", () => {
  const { principals, network, env } = testIdentities("claude-code", ["alice"]);
  const tag = `devhatchery-test/claude-code:${randomBytes(4).toString("hex")}`;
  let plane: RunnersControlPlane;
  let alice: Client;
  let runnerId = "";

  beforeAll(async () => {
    // Offline bases and the legacy builder; only the npm install reaches out (to the npm registry).
    await buildTestImage({
      tag,
      context: { dir: EXAMPLE_DIR },
      buildArgs: {
        BASE_IMAGE: "devhatchery-test/debian:bookworm",
        NODE_IMAGE: "devhatchery-test/node:24.21.0",
        AGENT_IMAGE: "devhatchery-test/agent:dev",
        AGENT_VERSION,
        EXTRA_CA_CERTS: hostExtraCaCertificates(),
      },
    });
    plane = await startRunnersControlPlane(principals, network, env);
    [alice] = plane.clients as [Client];
    runnerId = (await ok(alice, "runner_spawn", { alias: "claude", image: tag })).runner_id as string;
    // What the control plane does for a job: the task as a file.
    await sh(alice, "claude", `mkdir -p ${JOB_DIR} && printf '%s\\n' '${TASK}' > ${JOB_DIR}/task.md`);
  }, 600_000);
  afterAll(async () => {
    await plane?.close();
    // noprune keeps the intermediate layers as build cache, so the next run does not download Claude Code again.
    await docker
      .getImage(tag)
      .remove({ force: true, noprune: true })
      .catch(() => undefined);
  });

  it("has Claude Code, the job wrapper and the agent baked in", async () => {
    const image = await docker.getImage(tag).inspect();
    expect(image.Config.Labels).toMatchObject({ "io.devhatchery.agent.version": AGENT_VERSION });
    expect(image.Config.Entrypoint).toEqual(["/opt/devhatchery/bin/node", "/opt/devhatchery/agent.cjs"]);
    const container = await docker.getContainer(`devhatchery-${runnerId}`).inspect();
    // Baked delivery: no agent volume at /opt/devhatchery.
    expect(container.Mounts?.map((mount) => mount.Destination)).not.toContain("/opt/devhatchery");

    expect(await sh(alice, "claude", "claude --version")).toBe(`${CLAUDE_CODE_VERSION} (Claude Code)\n`);
    expect(await sh(alice, "claude", "for tool in devhatchery-claude-job git rg; do command -v $tool; done")).toBe(
      "/usr/local/bin/devhatchery-claude-job\n/usr/bin/git\n/usr/bin/rg\n",
    );
  });

  it("refuses to start a job without the API key secret", async () => {
    const result = await ok(alice, "exec", {
      runner: "claude",
      command: "devhatchery-claude-job",
      env: { DEVHATCHERY_TASK_FILE: `${JOB_DIR}/task.md`, DEVHATCHERY_SECRETS_DIR: `${JOB_DIR}/secrets` },
    });
    expect(result).toMatchObject({
      exit_code: 3,
      stdout: "",
      stderr:
        `devhatchery-claude-job: secret "${JOB_DIR}/secrets/ANTHROPIC_API_KEY" not found; ` +
        "pass ANTHROPIC_API_KEY among the job's secrets\n",
    });
  });

  it("runs the task with the key from the secret file, never from the environment, and writes the result", async () => {
    await ok(alice, "exec", {
      runner: "claude",
      command: `umask 077 && mkdir -p ${JOB_DIR}/secrets && cat > ${JOB_DIR}/secrets/ANTHROPIC_API_KEY && chmod 0400 ${JOB_DIR}/secrets/ANTHROPIC_API_KEY`,
      stdin: KEY,
    });
    await ok(alice, "fs_write", { runner: "claude", path: "/tmp/fake-anthropic-api.cjs", content: FAKE_API });
    const job = await ok(alice, "exec", {
      runner: "claude",
      command:
        "/opt/devhatchery/bin/node /tmp/fake-anthropic-api.cjs & api=$!; " +
        "for i in $(seq 50); do [ -e /tmp/fake-api.ready ] && break; sleep 0.1; done; " +
        "devhatchery-claude-job; status=$?; kill $api; exit $status",
      env: {
        DEVHATCHERY_JOB_ID: "job-1",
        DEVHATCHERY_TASK_FILE: `${JOB_DIR}/task.md`,
        DEVHATCHERY_SECRETS_DIR: `${JOB_DIR}/secrets`,
        DEVHATCHERY_RESULT_FILE: "/work/.devhatchery/result.json",
        // A key in the environment must lose to the secret file: the wrapper unsets it.
        ANTHROPIC_API_KEY: "sk-ant-from-the-environment",
        ANTHROPIC_BASE_URL: `http://127.0.0.1:${FAKE_API_PORT}`,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: "1",
      },
      yield_ms: 100_000,
      timeout_ms: 100_000,
    });
    expect(job.exit_code, JSON.stringify(job)).toBe(0);

    const result = JSON.parse(await sh(alice, "claude", "cat /work/.devhatchery/result.json")) as Record<
      string,
      unknown
    >;
    expect(result).toMatchObject({ type: "result", is_error: false, result: "pong from the stand-in API" });
    expect(JSON.parse(job.stdout as string)).toEqual(result);

    const requests = (await sh(alice, "claude", "cat /tmp/fake-api.log"))
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as { path: string; apiKey?: string; hasTask: boolean });
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.every((request) => request.apiKey === KEY)).toBe(true);
    expect(requests.some((request) => request.path === "/v1/messages" && request.hasTask)).toBe(true);
    // Nothing of the key was left behind in a settings file.
    expect(await sh(alice, "claude", `grep -rl '${KEY}' /root /work || true`)).toBe("");
  });
});
