import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlaneProcess } from "../support/control-plane-process.js";
import { callTool, textOf } from "../support/mcp-client.js";
import { ok, startRunnersControlPlane, testIdentities, type RunnersControlPlane } from "../support/runners-fixture.js";

/** Addresses, ports and socket errors a client must never read in a tool error. */
const TRANSPORT_DETAILS =
  /\b\d{1,3}(?:\.\d{1,3}){3}\b|:7070\b|:7071\b|ECONN|EHOST|ETIMEDOUT|dns:|No connection established|RST_STREAM/;

describe("what a client can see: the debug page and errors from a runner whose agent died", () => {
  const { principals, network, env } = testIdentities("surface", ["alice"]);
  const alice = principals[0]!;
  let plane: RunnersControlPlane;
  let server: ControlPlaneProcess;
  let client: Client;
  let runner: string;

  beforeAll(async () => {
    plane = await startRunnersControlPlane(principals, network, env);
    server = plane.server;
    client = plane.clients[0]!;
    runner = (await ok(client, "runner_spawn")).runner_id as string;
  });

  afterAll(async () => {
    await plane?.close();
  });

  it("renders a process command line holding markup escaped, under a CSP that lets nothing run", async () => {
    const started = await callTool(client, "exec", {
      runner,
      command: ["sh", "-c", "sleep 30 # <script>alert(1)</script>"],
      yield_ms: 0,
    });
    expect(started.structured.state, textOf(started.result)).toBe("running");
    const response = await fetch(server.url.replace(/\/mcp$/, `/runners/${runner}/debug`), {
      headers: { authorization: `Bearer ${alice.token}`, accept: "text/html" },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(response.headers.get("content-security-policy")).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(response.headers.get("x-content-type-options")).toBe("nosniff");
    const html = await response.text();
    expect(html).toContain("sleep 30 # &#60;script&#62;alert(1)&#60;/script&#62;");
    expect(html).not.toMatch(/<script|<style|\son[a-z]+=/i);
  });

  it("names no address, port or socket error in the tool errors once the agent is killed", async () => {
    // The exec's parent is the agent: this kills it mid-call, so the call itself and the ones after it fail.
    const texts: string[] = [];
    const killing = await callTool(client, "exec", { runner, command: "kill -9 $PPID; sleep 5" });
    texts.push(textOf(killing.result));
    let failures = killing.result.isError ? 1 : 0;
    for (let attempt = 0; attempt < 5; attempt++) {
      const read = await callTool(client, "fs_read", { runner, path: "/etc/hostname" });
      texts.push(textOf(read.result));
      if (read.result.isError) failures++;
    }
    expect(failures, texts.join("\n---\n")).toBeGreaterThan(0);
    for (const text of texts) expect(text).not.toMatch(TRANSPORT_DETAILS);
    // What the message leaves out is in the control plane's log, under the request id the message names.
    const requestIds = texts.flatMap((text) => /request id "([^"]+)"/.exec(text)?.[1] ?? []);
    expect(requestIds.length).toBeGreaterThan(0);
    const logged = (): string[] =>
      server
        .logs()
        .split("\n")
        .filter(
          (line) =>
            line.includes('"msg":"agent call failed"') && requestIds.some((id) => line.includes(`"requestId":"${id}"`)),
        );
    for (let attempt = 0; attempt < 50 && logged().length === 0; attempt++)
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(JSON.parse(logged()[0] ?? "{}")).toMatchObject({ runner, grpcStatus: 14, details: expect.any(String) });
  });
});
