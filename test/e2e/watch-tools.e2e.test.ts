import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { callTool, textOf } from "../support/mcp-client.js";
import { startTwoPrincipalRunner, type TwoPrincipalRunner } from "../support/runner-session.js";

interface Changes {
  changes: { kind: string; path: string; type: string; old_path: string | null; cursor: number }[];
  resync_required: boolean;
  resyncs: { cursor: number; reason: string; message: string }[];
  ended: { reason: string; message: string } | null;
  next_cursor: number;
  has_more: boolean;
}

describe("fs_watch and fs_changes", () => {
  let session: TwoPrincipalRunner;
  let asAlice: Client;
  let asBob: Client;
  let runnerId: string;

  const sh = async (command: string): Promise<void> => {
    const { structured } = await callTool(asAlice, "exec", { runner: runnerId, command });
    expect(structured.exit_code, command).toBe(0);
  };
  const watch = async (args: Record<string, unknown>): Promise<{ watch_id: string; cursor: number; path: string }> => {
    const { result, structured } = await callTool(asAlice, "fs_watch", { runner: runnerId, ...args });
    expect(result.isError, textOf(result)).toBeFalsy();
    return structured as { watch_id: string; cursor: number; path: string };
  };
  const changes = async (watchId: string, cursor: number, waitMs = 0): Promise<Changes> => {
    const { result, structured } = await callTool(asAlice, "fs_changes", {
      runner: runnerId,
      watch_id: watchId,
      cursor,
      wait_ms: waitMs,
    });
    expect(result.isError, textOf(result)).toBeFalsy();
    return structured as unknown as Changes;
  };
  /** Reads from `cursor` until `done` holds for everything read, in at most 20 calls. */
  const readUntil = async (
    watchId: string,
    cursor: number,
    done: (all: Changes["changes"], last: Changes) => boolean,
  ): Promise<{ all: Changes["changes"]; last: Changes }> => {
    const all: Changes["changes"] = [];
    let last = await changes(watchId, cursor, 5_000);
    all.push(...last.changes);
    for (let call = 1; call < 20 && !done(all, last); call++) {
      expect(last.next_cursor).toBeGreaterThanOrEqual(cursor);
      cursor = last.next_cursor;
      last = await changes(watchId, cursor, 5_000);
      all.push(...last.changes);
    }
    return { all, last };
  };

  beforeAll(async () => {
    session = await startTwoPrincipalRunner("watch");
    ({ asAlice, asBob, runnerId: runnerId } = session);
    await sh("mkdir -p /work/burst /work/hist /work/ign /work/gone");
  });

  afterAll(async () => {
    expect(await session?.close()).toBe(0);
  });

  it("describes the watch it started", async () => {
    const { result, structured } = await callTool(asAlice, "fs_watch", { runner: runnerId, path: "burst" });
    expect(structured).toEqual({
      runner_id: runnerId,
      watch_id: expect.stringMatching(/^wa_[0-9a-f]{16}$/),
      path: "/work/burst",
      type: "directory",
      recursive: true,
      cursor: 0,
      watched_directories: 1,
      default_ignores: expect.arrayContaining(["node_modules/", ".git/"]),
    });
    expect(textOf(result)).toBe(
      `Watching directory /work/burst recursively (1 directories): watch_id ${String(structured.watch_id)}, cursor 0. Read changes with fs_changes.`,
    );
  });

  it("reports a burst of 50 new files in batches, each exactly once, with cursors that only grow", async () => {
    const { watch_id, cursor } = await watch({ path: "/work/burst" });
    await sh(
      "for i in $(seq 1 50); do echo $i > /work/burst/f$i.txt; done; mkdir /work/burst/sub && mv /work/burst/f1.txt /work/burst/sub/one.txt",
    );
    const expected = [
      ...Array.from({ length: 49 }, (_, index) => `/work/burst/f${index + 2}.txt`),
      "/work/burst/sub",
      "/work/burst/sub/one.txt",
    ].sort();
    const { all, last } = await readUntil(
      watch_id,
      cursor,
      (seen) =>
        seen.filter((change) => change.kind === "created" || change.kind === "renamed").length >= expected.length,
    );
    const arrived = all.filter((change) => change.kind === "created" || change.kind === "renamed");
    expect(arrived.map((change) => change.path).sort()).toEqual(expected);
    expect(last.resync_required).toBe(false);
    expect(all.map((change) => change.cursor)).toEqual([...all.map((change) => change.cursor)].sort((a, b) => a - b));
    expect(all.find((change) => change.path === "/work/burst/f2.txt")).toMatchObject({ type: "file", old_path: null });
    expect(await changes(watch_id, last.next_cursor)).toEqual({
      runner_id: runnerId,
      changes: [],
      resync_required: false,
      resyncs: [],
      ended: null,
      next_cursor: last.next_cursor,
      has_more: false,
    });
  });

  it("leaves out what the ignore patterns name", async () => {
    const { watch_id, cursor } = await watch({ path: "/work/ign", ignore: ["*.log", "build/"] });
    await sh(
      "mkdir -p /work/ign/build && echo x > /work/ign/build/out.o && echo x > /work/ign/debug.log && echo x > /work/ign/kept.txt",
    );
    const { all } = await readUntil(watch_id, cursor, (seen) =>
      seen.some((change) => change.path === "/work/ign/kept.txt"),
    );
    expect(all.map((change) => change.path)).toEqual(["/work/ign/kept.txt"]);
  });

  it("says explicitly when batches were dropped from a small history (resync), then goes on", async () => {
    const { watch_id, cursor } = await watch({ path: "/work/hist", history_limit: 2 });
    await sh("for i in 1 2 3 4 5; do touch /work/hist/h$i; sleep 0.4; done");
    const { result, structured } = await callTool(asAlice, "fs_changes", {
      runner: runnerId,
      watch_id,
      cursor,
      wait_ms: 0,
    });
    expect(structured).toEqual({
      runner_id: runnerId,
      changes: [
        { kind: "created", path: "/work/hist/h4", type: "file", old_path: null, cursor: 4 },
        { kind: "created", path: "/work/hist/h5", type: "file", old_path: null, cursor: 5 },
      ],
      resync_required: true,
      resyncs: [
        {
          cursor: 3,
          reason: "history_overflow",
          message:
            "Events after cursor 0 up to 3 were dropped from this watch's history (it keeps at most 2 events and 100000 changes); re-list the tree, then continue from cursor 3.",
        },
      ],
      ended: null,
      next_cursor: 5,
      has_more: false,
    });
    expect(textOf(result)).toBe(
      "RESYNC REQUIRED (history_overflow): Events after cursor 0 up to 3 were dropped from this watch's history (it keeps at most 2 events and 100000 changes); re-list the tree, then continue from cursor 3.\n" +
        "created file /work/hist/h4\ncreated file /work/hist/h5\n2 changes; next_cursor 5",
    );
  });

  it("reports the end of a watch whose directory was removed", async () => {
    const { watch_id, cursor } = await watch({ path: "/work/gone" });
    await sh("rm -rf /work/gone");
    const { last } = await readUntil(watch_id, cursor, (_, read) => read.ended !== null);
    expect(last.ended).toMatchObject({ reason: "root_deleted" });
  });

  it("turns unknown watches, missing paths and other principals into tool errors that say how to recover", async () => {
    const unknown = await callTool(asAlice, "fs_changes", {
      runner: runnerId,
      watch_id: "wa_0000000000000000",
      cursor: 0,
    });
    expect(textOf(unknown.result)).toBe(
      `Error NOT_FOUND: Watch "wa_0000000000000000" not found in runner "${runnerId}": it was closed after 10 minutes without fs_changes calls, its runner restarted, or the id is wrong. ` +
        "Start a new watch with fs_watch and re-list the tree.\n" +
        "fs_watch starts a new watch (its watch_id and cursor replace these); changes meanwhile were not recorded, so re-list the tree with fs_list.",
    );
    const missing = await callTool(asAlice, "fs_watch", { runner: runnerId, path: "/work/does-not-exist" });
    expect(missing.result.isError).toBe(true);
    expect(textOf(missing.result)).toMatch(/^Error NOT_FOUND: .*"\/work\/does-not-exist"/);
    const { watch_id } = await watch({ path: "/work" });
    const notFound = `Error NOT_FOUND: Runner "${runnerId}" not found for this principal; spawn one with runner_spawn.`;
    for (const [tool, args] of [
      ["fs_watch", { runner: runnerId, path: "/work" }],
      ["fs_changes", { runner: runnerId, watch_id, cursor: 0 }],
    ] as const) {
      const { result } = await callTool(asBob, tool, args);
      expect(result.isError, tool).toBe(true);
      expect(textOf(result).startsWith(notFound), tool).toBe(true);
    }
  });
});
