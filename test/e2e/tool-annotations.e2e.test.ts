import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, textOf } from "../support/mcp-client.js";
import {
  fails,
  ok,
  sh,
  startRunnersControlPlane,
  testIdentities,
  type RunnersControlPlane,
} from "../support/runners-fixture.js";

/** Bookkeeping that every call may move (idle reaping), not data of the caller's. */
const ACTIVITY_FIELDS = new Set(["last_activity_at", "last_used_at"]);

function withoutActivity(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutActivity);
  if (value === null || typeof value !== "object") return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([key]) => !ACTIVITY_FIELDS.has(key))
      .map(([key, field]) => [key, withoutActivity(field)]),
  );
}

describe("tool annotations hold for what the tools do", () => {
  const { principals, network, env } = testIdentities("annotations", ["alice"]);
  let plane: RunnersControlPlane;
  let alice: Client;
  let exportRoot: string;
  let tools: Tool[] = [];
  let execId = "";
  let watchId = "";
  let jobId = "";
  let ptyExecId = "";

  /** Everything a caller can observe of their runners, files, processes, workspaces, snapshots and exports, read with read-only tools. */
  const observe = async (): Promise<unknown> =>
    withoutActivity({
      runners: await ok(alice, "runner_list"),
      files: await ok(alice, "fs_list", { runner: "keep", path: "/work", depth: 5 }),
      scratch: await ok(alice, "fs_list", { runner: "scratch", path: "/work", depth: 5 }),
      execs: await ok(alice, "exec_list", { runner: "keep" }),
      volumes: await ok(alice, "volume_list", { sizes: false }),
      snapshots: await ok(alice, "snapshot_list"),
      exports: await ok(alice, "export_list"),
    });

  beforeAll(async () => {
    exportRoot = await mkdtemp(join(tmpdir(), "devhatchery-annotations-"));
    plane = await startRunnersControlPlane(principals, network, { ...env, DEVHATCHERY_EXPORT_ROOT: exportRoot });
    [alice] = plane.clients as [Client];
    tools = (await alice.listTools()).tools;
    await ok(alice, "runner_spawn", { alias: "keep", workspace_key: "annotations-keep" });
    await ok(alice, "runner_spawn", { alias: "scratch", storage: "tmpfs" });
    await sh(alice, "keep", "mkdir -p /work/src && printf one > /work/src/a.txt && printf two > /work/b.txt");
    await sh(alice, "scratch", "printf tmp > /work/scratch.txt");
    execId = (await ok(alice, "exec", { runner: "keep", command: "echo done" })).exec_id as string;
    watchId = (await ok(alice, "fs_watch", { runner: "keep", path: "/work" })).watch_id as string;
    jobId = (await ok(alice, "job_run", { task: "echo done", storage: "tmpfs" })).job_id as string;
    ptyExecId = (await ok(alice, "exec", { runner: "keep", command: "sleep 600", pty: true, yield_ms: 0 }))
      .exec_id as string;
  });

  afterAll(async () => {
    await plane?.close();
    await rm(exportRoot, { recursive: true, force: true });
  });

  it("changes nothing observable with a tool annotated readOnlyHint", async () => {
    const calls: Record<string, Record<string, unknown>> = {
      runner_list: {},
      exec_read: { runner: "keep", exec_id: execId, cursor: 0 },
      exec_list: { runner: "keep" },
      fs_read: { runner: "keep", path: "/work/b.txt" },
      fs_list: { runner: "keep", path: "/work", depth: 3 },
      fs_stat: { runner: "keep", path: "/work/src" },
      fs_changes: { runner: "keep", watch_id: watchId, cursor: 0 },
      volume_list: { sizes: false },
      snapshot_list: {},
      export_list: {},
      system_status: {},
      job_list: {},
      job_get: { job: jobId, output_cursor: 0 },
    };
    // Every tool that claims to be read-only is called here, so a new one cannot claim it untested.
    expect(
      tools
        .filter((tool) => tool.annotations?.readOnlyHint === true)
        .map((tool) => tool.name)
        .sort(),
    ).toEqual(Object.keys(calls).sort());
    const before = await observe();
    for (const [name, args] of Object.entries(calls)) {
      await ok(alice, name, args);
      expect(await observe(), name).toEqual(before);
    }
  });

  it("keeps every runner, file, workspace, snapshot and export with a tool annotated non-destructive", async () => {
    const before = (await observe()) as Record<string, unknown>;
    const runnersBefore = (await ok(alice, "runner_list")).runners as { runner_id: string; status: string }[];
    const snapshot = await ok(alice, "snapshot_create", { runner: "keep", name: "annotations" });
    const calls: Record<string, Record<string, unknown>> = {
      runner_spawn: { alias: "extra", storage: "tmpfs" },
      runner_attach: { runner: "keep" },
      fs_mkdir: { runner: "keep", path: "/work/new/dir", parents: true },
      fs_watch: { runner: "keep", path: "/work/src" },
      export_create: { runner: "keep", path: "/work/src", format: "tar" },
      exec_resize: { runner: "keep", exec_id: ptyExecId, cols: 100, rows: 30 },
      // A job's runner comes and goes; nothing that was there changes.
      job_run: { task: "echo job", storage: "tmpfs" },
      // Frozen, then thawed: its processes and files are all still there.
      runner_pause: { runner: "keep" },
      runner_resume: { runner: "keep" },
    };
    const nonDestructive = tools
      .filter((tool) => tool.annotations?.readOnlyHint !== true && tool.annotations?.destructiveHint === false)
      .map((tool) => tool.name);
    expect(nonDestructive.sort()).toEqual([...Object.keys(calls), "snapshot_create"].sort());
    for (const [name, args] of Object.entries(calls)) await ok(alice, name, args);
    try {
      const after = (await observe()) as Record<string, { runners?: unknown[]; entries?: unknown[] }>;
      // Everything there before is still there, unchanged; the tools only added.
      expect(after.files?.entries).toEqual(expect.arrayContaining((before.files as { entries: unknown[] }).entries));
      expect(after.scratch).toEqual(before.scratch);
      // A workspace's size grows with what a tool added; none is gone.
      const keys = (volumes: unknown) =>
        (volumes as { workspaces: { workspace_key: string }[] }).workspaces.map((workspace) => workspace.workspace_key);
      expect(keys(after.volumes)).toEqual(keys(before.volumes));
      expect((await ok(alice, "runner_list")).runners).toEqual(
        expect.arrayContaining(
          runnersBefore.map((runner) =>
            expect.objectContaining({ runner_id: runner.runner_id, status: runner.status }),
          ),
        ),
      );
      expect(await sh(alice, "keep", "cat /work/src/a.txt /work/b.txt")).toBe("onetwo");
    } finally {
      await ok(alice, "snapshot_remove", { snapshot: snapshot.snapshot_id });
      await ok(alice, "runner_remove", { runner: "extra" });
    }
  });

  it("ends processes and loses a tmpfs /work with runner_stop, which is why it is annotated destructive", async () => {
    expect(tools.find((tool) => tool.name === "runner_stop")?.annotations).toMatchObject({
      readOnlyHint: false,
      destructiveHint: true,
    });
    const sleeper = await ok(alice, "exec", { runner: "scratch", command: "sleep 300", yield_ms: 0 });
    expect(sleeper.state).toBe("running");
    const stopped = await callTool(alice, "runner_stop", { runner: "scratch" });
    expect(stopped.result.isError, textOf(stopped.result)).toBeFalsy();
    expect(textOf(stopped.result)).toContain(
      "its tmpfs /work is gone. runner_attach starts it again with an empty /work.",
    );
    await ok(alice, "runner_attach", { runner: "scratch" });
    expect(await sh(alice, "scratch", "ls -A /work")).toBe("");
    expect(await fails(alice, "exec_read", { runner: "scratch", exec_id: sleeper.exec_id, cursor: 0 })).toMatch(
      /^Error NOT_FOUND: Exec ".*" not found/,
    );
  });
});
