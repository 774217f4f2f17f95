import { createHash, randomBytes } from "node:crypto";
import { once } from "node:events";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { removeTestRunners } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane } from "../support/control-plane-process.js";
import { callTool, connectClient } from "../support/mcp-client.js";
import { runDevhatchery, startDevhatcheryServer } from "./cli-process.js";

const dir = mkdtempSync(join(tmpdir(), "devhatchery-cli-serve-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const suffix = randomBytes(4).toString("hex");

describe("devhatchery serve", () => {
  it("serves with a config file that keeps only a token digest, and exits 0 on SIGTERM", async () => {
    const token = randomBytes(24).toString("hex");
    const path = join(dir, "serve.yaml");
    const digest = createHash("sha256").update(token).digest("hex");
    writeFileSync(
      path,
      [
        "listen: { port: 0 }",
        `auth: { tokens: [{ principal: e2e-cli-serve-${suffix}, token_sha256: ${digest} }] }`,
        `runners: { network: devhatchery-e2e-cli-serve-${suffix} }`,
        `state: { dir: ${join(dir, "state")} }`,
      ].join("\n"),
    );
    const server = await startDevhatcheryServer(["serve", "--config", path]);
    try {
      const client = await connectClient(server.url, token);
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain("runner_spawn");
      await client.close();
      const refused = await fetch(server.url, {
        method: "POST",
        headers: { authorization: `Bearer ${digest}`, "content-type": "application/json" },
        body: "{}",
      });
      expect(refused.status).toBe(401);
    } finally {
      expect(await server.stop()).toBe(0);
    }
  });

  it("fails to start with the error's message and no stack trace, exit 1", async () => {
    const file = join(dir, "not-a-folder");
    writeFileSync(file, "");
    const result = await runDevhatchery(
      ["serve"],
      { HOME: dir, DEVHATCHERY_STATE_DIR: join(file, "state"), DEVHATCHERY_LISTEN_PORT: "0" },
      20_000,
    );
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `devhatchery: Cannot create the state store folder "${join(file, "state")}" (ENOTDIR: not a directory, mkdir '${join(file, "state")}'); ` +
        "create it, or point state.dir (DEVHATCHERY_STATE_DIR) at a folder the control plane can write.\n",
    );
    expect(result.stderr).not.toMatch(/^ {4}at /m);
  });
});

describe("devhatchery debug", () => {
  it("prints the agent's debug view of a runner through the running control plane", async () => {
    const principal = `e2e-cli-debug-${suffix}`;
    const token = randomBytes(24).toString("hex");
    const network = `devhatchery-e2e-cli-debug-${suffix}`;
    const server = await startControlPlane({
      DEVHATCHERY_BEARER_TOKENS: `${principal}:${token}`,
      DEVHATCHERY_RUNNER_NETWORK: network,
      DEVHATCHERY_STATE_DIR: join(dir, "debug-state"),
    });
    try {
      const client = await connectClient(server.url, token);
      const spawned = await callTool(client, "runner_spawn", {});
      expect(spawned.result.isError).toBeFalsy();
      const runnerId = spawned.structured.runner_id as string;
      await client.close();

      const json = await runDevhatchery(["debug", runnerId, "--url", server.url], { DEVHATCHERY_TOKEN: token });
      expect(json.stderr).toBe("");
      expect(json.code).toBe(0);
      const view = JSON.parse(json.stdout) as { version: string; memory: { rss_bytes: number } };
      expect(view.version).toBe("0.1.0");
      expect(view.memory.rss_bytes).toBeGreaterThan(0);

      const html = await runDevhatchery([
        "debug",
        runnerId,
        "--url",
        server.url.replace(/\/mcp$/, ""),
        "--token",
        token,
        "--html",
      ]);
      expect(html.code).toBe(0);
      expect(html.stdout).toContain("<h1>DevHatchery runner agent</h1>");

      const refused = await runDevhatchery(["debug", runnerId, "--url", server.url]);
      expect(refused.code).toBe(3);
      expect(refused.stderr).toMatch(
        new RegExp(
          `^devhatchery debug: ${server.url.replace(/\/mcp$/, "")}/runners/${runnerId}/debug answered 401: .+ \\(pass the owner's token with --token or DEVHATCHERY_TOKEN\\)\\n$`,
        ),
      );

      const unknown = await runDevhatchery(["debug", "r-nosuchrunner", "--url", server.url], {
        DEVHATCHERY_TOKEN: token,
      });
      expect(unknown.code).toBe(3);
      expect(unknown.stderr).toContain('answered 404: Runner "r-nosuchrunner" not found for this principal');
    } finally {
      await server.stop();
      await removeTestRunners([principal], network);
    }
  });

  it("says when the control plane cannot be reached", async () => {
    // A port that was free a moment ago: nothing listens there.
    const probe = createServer().listen(0, "127.0.0.1");
    await once(probe, "listening");
    const { port } = probe.address() as AddressInfo;
    await new Promise((done) => probe.close(done));
    const result = await runDevhatchery(["debug", "r-any", "--url", `http://127.0.0.1:${port}`]);
    expect(result).toEqual({
      code: 3,
      stdout: "",
      stderr: `devhatchery debug: cannot reach the control plane at "http://127.0.0.1:${port}" (ECONNREFUSED); start it with \`devhatchery serve\` or pass --url.\n`,
    });
  });
});
