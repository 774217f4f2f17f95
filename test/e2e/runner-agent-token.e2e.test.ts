import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { storedRunnerToken } from "../support/runner-token.js";
import { connectClient } from "../support/mcp-client.js";
import { ok, removeTestWorkspaces, sh, testIdentities } from "../support/runners-fixture.js";

/** Debian without the agent: the control plane injects the current agent, which reads its token on stdin. */
const INJECTED_IMAGE = "devhatchery-test/debian:bookworm";
const SPILL_DIR = "/var/tmp/devhatchery-agent/exec";

describe("the runner agent token: in no container config, child environment or snapshot, and kept across restarts", () => {
  const { principals, network, env } = testIdentities("token", ["alice"]);
  const alice = principals[0] as (typeof principals)[number];
  const servers: ControlPlaneProcess[] = [];
  const clients: Client[] = [];
  const snapshotContainers: string[] = [];
  let stateDir = "";
  let client: Client;
  let runnerId = "";
  let token = "";

  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "devhatchery-e2e-token-"));
    client = await start();
    runnerId = (await ok(client, "runner_spawn", { alias: "secretive", image: INJECTED_IMAGE, storage: "tmpfs" }))
      .runner_id as string;
    token = storedToken(runnerId);
  });
  afterAll(async () => {
    await Promise.all(clients.map((connected) => connected.close().catch(() => undefined)));
    for (const server of servers) await server.stop();
    for (const id of snapshotContainers)
      await docker
        .getContainer(id)
        .remove({ force: true })
        .catch(() => undefined);
    await removeTestWorkspaces(principals, network);
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  async function start(port?: number): Promise<Client> {
    const server = await startControlPlane({
      ...env,
      DEVHATCHERY_STATE_DIR: stateDir,
      ...(port === undefined ? {} : { DEVHATCHERY_LISTEN_PORT: String(port) }),
    });
    servers.push(server);
    const connected = await connectClient(server.url, alice.token);
    clients.push(connected);
    return connected;
  }

  /** The token as the control plane keeps it: in its own state store. */
  function storedToken(id: string): string {
    const token = storedRunnerToken(stateDir, id);
    expect(token, "the runner's token row").toMatch(/^[A-Za-z0-9_-]{32,}$/);
    return token;
  }

  const inspect = () => docker.getContainer(`devhatchery-${runnerId}`).inspect();

  it("shows no token in docker inspect: Env (the variable is empty), Cmd, Entrypoint, Labels or anywhere else", async () => {
    const info = await inspect();
    expect(JSON.stringify(info)).not.toContain(token);
    expect(info.Config.Env).toContain("DEVHATCHERY_AGENT_TOKEN=");
    expect(info.Config.OpenStdin).toBe(true);
  });

  it("gives processes the agent starts no token: not in their environment, nor in the agent's own", async () => {
    expect(await sh(client, "secretive", "env")).not.toContain(token);
    // Every process's environment and command line, the agent's (and Docker's init) included: root may read them all.
    const everything = await sh(
      client,
      "secretive",
      "cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline 2>/dev/null | tr '\\0' '\\n'; true",
    );
    expect(everything).toContain("DEVHATCHERY_AGENT_PORT=");
    expect(everything).not.toContain(token);
  });

  it("commits snapshots with no token in their config and no spilled exec output in their filesystem", async () => {
    // 3 MB is past the agent's 1 MiB in-memory ring: the rest is spilled to disk.
    const big = await ok(client, "exec", { runner: "secretive", command: "head -c 3000000 /dev/zero | tr '\\0' x" });
    expect(big.exit_code).toBe(0);
    expect(await sh(client, "secretive", `ls ${SPILL_DIR}`)).toMatch(/^ex_[0-9a-f]{16}\n/m);

    const snapshot = await ok(client, "snapshot_create", { runner: "secretive" });
    const image = await docker.getImage(snapshot.image as string).inspect();
    expect(JSON.stringify(image)).not.toContain(token);

    const created = await docker.createContainer({
      Image: snapshot.image as string,
      Entrypoint: ["/bin/true"],
      Cmd: [],
    });
    snapshotContainers.push(created.id);
    const listing = await tarEntries(await created.getArchive({ path: "/var/tmp" }));
    expect(listing).toContain("tmp/");
    expect(listing.filter((entry) => /ex_[0-9a-f]{16}/.test(entry))).toEqual([]);
    await created.remove({ force: true });
    await ok(client, "snapshot_remove", { snapshot: snapshot.snapshot_id });
  });

  it("reaches the runner after the control plane restarts on the same state, and after a runner stop and attach", async () => {
    const first = servers[0] as ControlPlaneProcess;
    await first.kill();
    const after = await start(first.port);
    expect(await sh(after, "secretive", "echo reached")).toBe("reached\n");

    await ok(after, "runner_stop", { runner: "secretive" });
    expect(await ok(after, "runner_attach", { runner: "secretive" })).toMatchObject({
      runner_id: runnerId,
      action: "started",
    });
    expect(await sh(after, "secretive", "echo started again")).toBe("started again\n");
    expect(storedToken(runnerId)).toBe(token);
    expect(JSON.stringify(await inspect())).not.toContain(token);

    await ok(after, "runner_remove", { runner: "secretive" });
    const db = new DatabaseSync(join(stateDir, "state.db"), { readOnly: true });
    try {
      expect(db.prepare("SELECT count(*) AS rows FROM runner_tokens WHERE runner_id = ?").get(runnerId)).toEqual({
        rows: 0,
      });
    } finally {
      db.close();
    }
  });
});

/** The entry names of a tar stream (the archive Docker returns for a path). */
async function tarEntries(stream: NodeJS.ReadableStream): Promise<string[]> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  const tar = Buffer.concat(chunks);
  const names: string[] = [];
  for (let offset = 0; offset + 512 <= tar.length;) {
    const header = tar.subarray(offset, offset + 512);
    if (header.every((byte) => byte === 0)) break;
    const name = header.subarray(0, 100).toString("utf8").replace(/\0.*$/s, "");
    const prefix = header.subarray(345, 500).toString("utf8").replace(/\0.*$/s, "");
    const size = Number.parseInt(header.subarray(124, 136).toString("utf8").replace(/\0.*$/s, "").trim() || "0", 8);
    names.push(prefix ? `${prefix}/${name}` : name);
    offset += 512 + Math.ceil(size / 512) * 512;
  }
  return names;
}
