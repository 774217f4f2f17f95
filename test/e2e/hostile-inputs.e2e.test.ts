import { createHash } from "node:crypto";
import { lstat, mkdir, mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { CreateTaskResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { victimSecrets, type MatrixContext, type VictimObjects } from "../support/hostile-context.js";
import {
  foreignImageRows,
  foreignResourceRows,
  foreignTaskRows,
  foreignToolRows,
  MISSING_SNAPSHOT_IMAGE,
  OTHER_TOOL_ROWS,
  RESOURCE_URIS,
  RUNNER_TOOL_ARGS,
} from "../support/hostile-foreign-rows.js";
import {
  foreignSessionRows,
  hostOriginRows,
  malformedBodyRows,
  oversizedBodyRows,
} from "../support/hostile-http-rows.js";
import { badPathRows, wrongTypeRows } from "../support/hostile-input-rows.js";
import { layOutAllowedRoots, mountEscapeRows } from "../support/hostile-mount-rows.js";
import { describeOutcome, verdict, type Row } from "../support/hostile-row.js";
import { connectClient } from "../support/mcp-client.js";
import { mib, residentBytes } from "../support/process-memory.js";
import { eventually, ok, removeTestWorkspaces, sh, testIdentities } from "../support/runners-fixture.js";

/**
 * How far the control plane's RSS may rise during one row, and above its level after set-up at any point of the
 * matrix. A chunked body over the limit is read up to the limit (24 MiB) before the 413 and then dropped, and the
 * memory it used stays with V8 and the allocator for a while (+52 MiB in one row was seen). The heap is collected
 * lazily: over 1,300 cheap refused calls RSS rose by up to 156 MiB, then fell back to +54 MiB. A row whose body the
 * server drops (`dropsBytes`) may add that much plus RSS_DROP_SLACK_BYTES in the row, and that much above the headroom:
 * reading and dropping 64 MiB raised a bare Node server's RSS by 35–69 MiB the first time, whichever way it read, and
 * mostly by nothing the next times (the five 64 MiB rows together added up to 82 MiB here).
 */
const RSS_ROW_GROWTH_BYTES = 64 * 1024 * 1024;
const RSS_DROP_SLACK_BYTES = 32 * 1024 * 1024;
const RSS_HEADROOM_BYTES = 256 * 1024 * 1024;
const MIN_ROWS = 150;

/** Every path under `folder`, symlinks listed but not followed (the allowed roots hold links to / and to /etc). */
async function listTree(folder: string, prefix = ""): Promise<string[]> {
  const paths: string[] = [];
  for (const entry of await readdir(join(folder, prefix), { withFileTypes: true })) {
    const path = join(prefix, entry.name);
    paths.push(path);
    if (entry.isDirectory()) paths.push(...(await listTree(folder, path)));
  }
  return paths.sort();
}

/** Each file under `folder` with its size, mode and sha256. */
async function filesOf(folder: string): Promise<string[]> {
  const files: string[] = [];
  for (const path of await listTree(folder)) {
    const info = await lstat(join(folder, path));
    const digest = info.isFile()
      ? createHash("sha256")
          .update(await readFile(join(folder, path)))
          .digest("hex")
      : "";
    files.push(`${path} ${info.mode.toString(8)} ${info.size} ${digest}`);
  }
  return files;
}

/** What differs between two states of stateOf(), part by part. */
function describeChange(before: string, after: string): string {
  const parse = (state: string): Record<string, unknown> =>
    state.startsWith("{") ? (JSON.parse(state) as Record<string, unknown>) : { state };
  const [old, now] = [parse(before), parse(after)];
  return Object.keys({ ...old, ...now })
    .filter((key) => JSON.stringify(old[key]) !== JSON.stringify(now[key]))
    .map((key) => `${key}: ${JSON.stringify(old[key]).slice(0, 300)} → ${JSON.stringify(now[key]).slice(0, 300)}`)
    .join("; ");
}

interface RowResult {
  row: Row;
  problem?: string;
}

describe("hostile inputs: every row is refused as stated, memory stays bounded, no runner changes", () => {
  const { principals, network, env } = testIdentities("hostile", ["victim", "attacker"]);
  const [victimPrincipal, attackerPrincipal] = principals as [(typeof principals)[0], (typeof principals)[0]];
  let base = "";
  let server: ControlPlaneProcess;
  let victimClient: Client;
  let attackerClient: Client;
  let context: MatrixContext;
  let rows: Row[] = [];
  const results: RowResult[] = [];
  const rss = { baseline: 0, max: 0, final: 0, byGroup: new Map<string, number>() };
  const timing = { setupMs: 0, rowsMs: 0 };
  const runnerPids = { victim: 0, attacker: 0 };
  /** Notifications the attacker received: none may name anything of the victim's. */
  const attackerNotifications: string[] = [];

  /**
   * Everything that must not change: both principals' containers (and their states), volumes and images, the files
   * under /work of both runners (read from the host through /proc/<pid>/root, which is fast), the victim's running
   * process and watch, and the host folders of the allowed roots and the export root.
   */
  async function stateOf(): Promise<string> {
    const engine = async (principal: string): Promise<unknown> => {
      const label = `io.devhatchery.owner=${principal}`;
      const containers = await docker.listContainers({ all: true, filters: { label: [label] } });
      const { Volumes: volumes } = await docker.listVolumes({ filters: { label: [label] } });
      const images = await docker.listImages({ filters: { label: [label] } });
      return {
        containers: containers.map((info) => `${info.Id} ${info.State}`).sort(),
        volumes: (volumes ?? []).map((volume) => volume.Name).sort(),
        images: images.map((image) => image.Id).sort(),
      };
    };
    const victim = context.victim;
    const exec = await ok(victimClient, "exec_read", { runner: victim.runnerId, exec_id: victim.execId, wait_ms: 0 });
    const watch = await ok(victimClient, "fs_changes", {
      runner: victim.runnerId,
      watch_id: victim.watchId,
      cursor: 0,
    });
    return JSON.stringify({
      victim: await engine(victim.principal),
      attacker: await engine(context.attacker.principal),
      victimFiles: await filesOf(`/proc/${runnerPids.victim}/root/work`),
      attackerFiles: await filesOf(`/proc/${runnerPids.attacker}/root/work`),
      victimExec: exec.state,
      victimWatchEnded: watch.ended,
      hostFolders: await listTree(base),
    });
  }

  beforeAll(async () => {
    const started = Date.now();
    base = await mkdtemp(join(tmpdir(), "devhatchery-e2e-hostile-"));
    const allowedRoots = await layOutAllowedRoots(base);
    await mkdir(join(base, "exports"));
    server = await startControlPlane({
      ...env,
      DEVHATCHERY_ALLOWED_ROOTS: allowedRoots,
      DEVHATCHERY_EXPORT_ROOT: join(base, "exports"),
    });
    victimClient = await connectClient(server.url, victimPrincipal.token);
    attackerClient = await connectClient(server.url, attackerPrincipal.token);

    // The victim: a runner with files, a process waiting on stdin, a watch, a snapshot, an export and a task.
    const spawned = await ok(victimClient, "runner_spawn", { alias: "victim-box", workspace_key: "victim-ws" });
    const runnerId = spawned.runner_id as string;
    await sh(
      victimClient,
      runnerId,
      "echo victim-only > /work/secret.txt && mkdir -p /work/src && echo 'int main;' > /work/src/main.c",
    );
    const exec = await ok(victimClient, "exec", { runner: runnerId, command: "cat", stdin_open: true, yield_ms: 0 });
    const watch = await ok(victimClient, "fs_watch", { runner: runnerId, path: "/work" });
    const snapshot = await ok(victimClient, "snapshot_create", { runner: runnerId, name: "victim-snap" });
    const exported = await ok(victimClient, "export_create", {
      runner: runnerId,
      path: "/work/src",
      name: "victim-export",
    });
    const task = await victimClient.request(
      {
        method: "tools/call",
        params: { name: "runner_spawn", arguments: { image: MISSING_SNAPSHOT_IMAGE }, task: {} },
      },
      CreateTaskResultSchema,
    );
    await eventually(
      "the victim's task to end",
      async () =>
        (await victimClient.experimental.tasks.getTask(task.task.taskId)).status === "working" ? undefined : true,
      60_000,
    );
    // A job whose runner has come and gone: its id is all that is left to name.
    const job = await ok(victimClient, "job_run", { task: "echo victim-job", storage: "tmpfs" });
    const [container] = await docker.listContainers({
      all: true,
      filters: { label: [`io.devhatchery.owner=${victimPrincipal.id}`] },
    });
    const victim: VictimObjects = {
      principal: victimPrincipal.id,
      token: victimPrincipal.token,
      runnerId,
      alias: "victim-box",
      workspaceKey: "victim-ws",
      volume: spawned.volume as string,
      containerId: container!.Id,
      containerName: container!.Names[0]!.replace(/^\//, ""),
      execId: exec.exec_id as string,
      watchId: watch.watch_id as string,
      snapshotId: snapshot.snapshot_id as string,
      snapshotName: "victim-snap",
      snapshotImage: snapshot.image as string,
      snapshotImageId: (await docker.getImage(snapshot.image as string).inspect()).Id,
      taskId: task.task.taskId,
      jobId: job.job_id as string,
      exportName: exported.name as string,
      sessionId: (victimClient.transport as StreamableHTTPClientTransport).sessionId as string,
    };

    // The attacker: its own runner with the rw allowed root mounted, so that escapes start from a real mount.
    const own = await ok(attackerClient, "runner_spawn", {
      alias: "own",
      storage: "tmpfs",
      mounts: [{ alias: "data", mode: "rw" }],
    });
    await sh(attackerClient, "own", "echo mine > /work/own.txt");
    await ok(attackerClient, "runner_spawn", { alias: "gone", workspace_key: "attacker-idle" });
    await ok(attackerClient, "runner_remove", { runner: "gone" });
    // The attacker's own export folder exists from a first export on, so a refused export_create changes nothing.
    await ok(attackerClient, "export_create", { runner: "own", path: "/work/own.txt", name: "own" });
    attackerClient.fallbackNotificationHandler = async (notification) =>
      void attackerNotifications.push(JSON.stringify(notification));
    const pidOf = async (runner: string): Promise<number> =>
      (await docker.getContainer(`devhatchery-${runner}`).inspect()).State.Pid;
    runnerPids.victim = await pidOf(runnerId);
    runnerPids.attacker = await pidOf(own.runner_id as string);
    context = {
      url: server.url,
      tools: (await attackerClient.listTools()).tools,
      templates: (await attackerClient.listResourceTemplates()).resourceTemplates.map(
        (template) => template.uriTemplate,
      ),
      victim,
      victimClient,
      attacker: {
        principal: attackerPrincipal.id,
        token: attackerPrincipal.token,
        runnerId: own.runner_id as string,
        sessionId: (attackerClient.transport as StreamableHTTPClientTransport).sessionId as string,
        idleWorkspace: "attacker-idle",
      },
      attackerClient,
    };
    rows = [
      ...foreignToolRows(context),
      ...foreignTaskRows(context),
      ...foreignResourceRows(context),
      ...foreignSessionRows(context),
      ...hostOriginRows(context),
      ...wrongTypeRows(context),
      ...badPathRows(context),
      ...mountEscapeRows(context),
      ...malformedBodyRows(context),
      ...foreignImageRows(context),
      ...oversizedBodyRows(context),
    ];
    // Rows written for a found defect go after the rest, and those that grow the heap after them (the body limit last
    // of all), so that what they break stays theirs.
    const rank = (row: Row): number => (row.group === "oversized body" ? 3 : row.heavy ? 2 : row.guards ? 1 : 0);
    rows.sort((a, b) => rank(a) - rank(b));
    timing.setupMs = Date.now() - started;
  });

  afterAll(async () => {
    const broken = results.filter((result) => result.problem !== undefined);
    console.log(
      [
        `hostile-input matrix: ${results.length} rows tried, ${results.length - broken.length} refused as expected, ${broken.length} broken`,
        `control plane RSS: ${mib(rss.baseline)} after set-up, ${mib(rss.max)} at most, ${mib(rss.final)} at the end (bounds: +${mib(RSS_ROW_GROWTH_BYTES)} a row, +${mib(RSS_HEADROOM_BYTES)} in all; a row that drops a body: its size more)`,
        `RSS after each group: ${[...rss.byGroup].map(([group, bytes]) => `${group} ${mib(bytes)}`).join(", ")}`,
        `rows by group: ${[...Map.groupBy(rows, (row) => row.group)].map(([group, members]) => `${group} ${members.length}`).join(", ")}`,
        `time: ${(timing.setupMs / 1000).toFixed(1)} s setup, ${(timing.rowsMs / 1000).toFixed(1)} s for the rows`,
        ...broken.map(
          (result) =>
            `  BROKEN [${result.row.group}] ${result.row.name}: ${result.problem}${result.row.guards ? ` (guards: ${result.row.guards})` : ""}`,
        ),
      ].join("\n"),
    );
    await victimClient?.close().catch(() => undefined);
    await attackerClient?.close().catch(() => undefined);
    await server?.stop();
    await removeTestWorkspaces(principals, network);
    if (base) await rm(base, { recursive: true, force: true });
  });

  it("has rows for every tool and resource template the server lists", () => {
    const takesRunner = (name: string): boolean =>
      "runner" in (context.tools.find((tool) => tool.name === name)?.inputSchema.properties ?? {});
    const names = context.tools.map((tool) => tool.name).sort();
    // A new tool with a `runner` argument needs its line in RUNNER_TOOL_ARGS; any other new tool in OTHER_TOOL_ROWS.
    expect(names.filter(takesRunner)).toEqual(Object.keys(RUNNER_TOOL_ARGS).sort());
    expect(names.filter((name) => !takesRunner(name))).toEqual(Object.keys(OTHER_TOOL_ROWS).sort());
    expect(context.templates.sort()).toEqual(Object.keys(RESOURCE_URIS).sort());
    for (const name of names)
      expect(
        rows.some((row) => row.target === name && row.group !== "wrong type"),
        name,
      ).toBe(true);
    expect(rows.length).toBeGreaterThanOrEqual(MIN_ROWS);
  });

  it("refuses every row as stated, and afterwards the control plane's memory and both principals' runners are as before", async () => {
    const started = Date.now();
    let expectedState = await stateOf();
    rss.baseline = await residentBytes(server.pid);
    let before = rss.baseline;
    for (const row of rows) {
      let problem: string | undefined;
      try {
        const outcome = await row.send();
        problem = verdict(row.expected, outcome);
        if (problem) problem = `${problem}; got ${describeOutcome(outcome)}`;
      } catch (error) {
        problem = `the row threw: ${error instanceof Error ? error.message : String(error)}`;
      }
      const now = await residentBytes(server.pid).catch(() => 0);
      rss.max = Math.max(rss.max, now);
      if (now === 0) problem = `${problem ?? ""} the control plane process is gone`.trim();
      else if (now > before + Math.max(RSS_ROW_GROWTH_BYTES, (row.dropsBytes ?? 0) + RSS_DROP_SLACK_BYTES))
        problem = `${problem ?? ""} RSS grew by ${mib(now - before)} to ${mib(now)} in this row`.trim();
      else if (now > rss.baseline + RSS_HEADROOM_BYTES + (row.dropsBytes ?? 0))
        problem =
          `${problem ?? ""} RSS ${mib(now)} is more than ${mib(RSS_HEADROOM_BYTES)} above the baseline ${mib(rss.baseline)}`.trim();
      before = now;
      rss.byGroup.set(row.group, now);
      if (now === 0) {
        results.push({ row, problem });
        break;
      }
      const state = await stateOf().catch((error: unknown) => `unreadable: ${String(error)}`);
      if (state !== expectedState) {
        problem = `${problem ?? ""} state changed: ${describeChange(expectedState, state)}`.trim();
        // Blame this row only: later rows compare with the state it left.
        expectedState = state;
      }
      results.push(problem === undefined ? { row } : { row, problem });
    }
    rss.final = await residentBytes(server.pid).catch(() => 0);
    timing.rowsMs = Date.now() - started;
    expect(results.length).toBe(rows.length);
    const leaks = attackerNotifications.filter((notification) =>
      victimSecrets(context.victim).some((secret) => notification.includes(secret)),
    );
    expect(leaks, "notifications the attacker got that name the victim's objects").toEqual([]);
    expect(
      results
        .filter((result) => result.problem !== undefined)
        .map((result) => `[${result.row.group}] ${result.row.name}: ${result.problem}`),
    ).toEqual([]);
  }, 600_000);
});
