import { appendFileSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { credentials, status } from "@grpc/grpc-js";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FileType } from "@devhatchery/proto/agent/v1/fs";
import { ChangeKind, ResyncReason, WatchEndReason, WatchState } from "@devhatchery/proto/agent/v1/watch";
import {
  HealthCheckResponse_ServingStatus,
  HealthClient,
  type HealthCheckResponse,
} from "@devhatchery/proto/health/v1";
import {
  authMetadata,
  changesIn,
  changesUntil,
  closeWatch,
  followWatch,
  listWatches,
  readChanges,
  startWatch,
  startWatchAgent,
  summarizeChanges,
  type WatchAgent,
  type WatchFollower,
} from "../../test/agent-harness.js";

const {
  CHANGE_KIND_CREATED: CREATED,
  CHANGE_KIND_MODIFIED: MODIFIED,
  CHANGE_KIND_DELETED: DELETED,
  CHANGE_KIND_RENAMED: RENAMED,
} = ChangeKind;
const { FILE_TYPE_FILE: FILE, FILE_TYPE_DIRECTORY: DIRECTORY } = FileType;

/** Makes a directory tree under `base`: names ending in "/" are directories, others files. */
function makeTree(base: string, entries: string[]): void {
  mkdirSync(base, { recursive: true });
  for (const entry of entries) {
    if (entry.endsWith("/")) mkdirSync(join(base, entry), { recursive: true });
    else writeFileSync(join(base, entry), entry);
  }
}

describe("WatchService over a real gRPC server", () => {
  let agent: WatchAgent;
  const followers: WatchFollower[] = [];
  const follow = (
    ...args: Parameters<typeof followWatch> extends [unknown, ...infer Rest] ? Rest : never
  ): WatchFollower => {
    const follower = followWatch(agent.watch, ...args);
    followers.push(follower);
    return follower;
  };

  beforeAll(async () => {
    agent = await startWatchAgent();
  });
  afterEach(async () => {
    for (const follower of followers.splice(0)) follower.cancel();
    for (const watch of await listWatches(agent.watch)) await closeWatch(agent.watch, watch.watchId);
  });
  afterAll(async () => {
    await agent.close();
  });

  it("is known to the agent's health check", async () => {
    const health = new HealthClient(`127.0.0.1:${agent.server.port}`, credentials.createInsecure());
    try {
      const response = await new Promise<HealthCheckResponse>((resolve, reject) =>
        health.check({ service: "devhatchery.agent.v1.WatchService" }, authMetadata(), (error, reply) =>
          error ? reject(error) : resolve(reply),
        ),
      );
      expect(response.status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    } finally {
      health.close();
    }
  });

  it("coalesces creations into one batch after the debounce, with paths relative to the root and absolute", async () => {
    const root = join(agent.workDir, "batch");
    makeTree(root, []);
    const watch = await startWatch(agent.watch, { path: "batch", debounceMs: 300 });
    expect(watch).toMatchObject({
      path: root,
      root,
      type: DIRECTORY,
      recursive: true,
      gitignore: true,
      debounceMs: 300,
      cursor: 0,
      watchedDirectories: 1,
    });
    const follower = follow({ watchId: watch.watchId });

    writeFileSync(join(root, "a.txt"), "a");
    appendFileSync(join(root, "a.txt"), "more");
    writeFileSync(join(root, "b.txt"), "b");
    mkdirSync(join(root, "d"));
    writeFileSync(join(root, "d", "c.txt"), "c");

    const event = await follower.next((candidate) => candidate.event?.$case === "changes");
    expect(event.cursor).toBe(1);
    expect(summarizeChanges(changesIn(event))).toEqual([
      [CREATED, "a.txt"],
      [CREATED, "b.txt"],
      [CREATED, "d"],
      [CREATED, "d/c.txt"],
    ]);
    expect(changesIn(event).find((change) => change.path === "d/c.txt")).toEqual({
      kind: CREATED,
      path: "d/c.txt",
      absolutePath: join(root, "d/c.txt"),
      type: FILE,
      oldPath: "",
      oldAbsolutePath: "",
    });
    expect(changesIn(event).find((change) => change.path === "d")?.type).toBe(DIRECTORY);
  });

  it("reports modifications, renames and deletions", async () => {
    const root = join(agent.workDir, "kinds");
    makeTree(root, ["keep.txt", "old.txt", "gone.txt"]);
    const watch = await startWatch(agent.watch, { path: root, debounceMs: 100 });
    const follower = follow({ watchId: watch.watchId });

    appendFileSync(join(root, "keep.txt"), "!");
    expect(summarizeChanges(await changesUntil(follower, "keep.txt"))).toEqual([[MODIFIED, "keep.txt"]]);

    renameSync(join(root, "old.txt"), join(root, "new.txt"));
    const [renamed] = await changesUntil(follower, "new.txt");
    expect(renamed).toEqual({
      kind: RENAMED,
      path: "new.txt",
      absolutePath: join(root, "new.txt"),
      type: FILE,
      oldPath: "old.txt",
      oldAbsolutePath: join(root, "old.txt"),
    });

    rmSync(join(root, "gone.txt"));
    expect(await changesUntil(follower, "gone.txt")).toEqual([
      {
        kind: DELETED,
        path: "gone.txt",
        absolutePath: join(root, "gone.txt"),
        type: FILE,
        oldPath: "",
        oldAbsolutePath: "",
      },
    ]);
  });

  it("reports a renamed directory as one change and keeps watching inside it", async () => {
    const root = join(agent.workDir, "moves");
    makeTree(root, ["src/", "src/lib/", "src/lib/a.ts"]);
    const watch = await startWatch(agent.watch, { path: root, debounceMs: 100 });
    expect(watch.watchedDirectories).toBe(3);
    const follower = follow({ watchId: watch.watchId });

    renameSync(join(root, "src"), join(root, "source"));
    expect(summarizeChanges(await changesUntil(follower, "source"))).toEqual([[RENAMED, "source", "src"]]);
    writeFileSync(join(root, "source/lib/b.ts"), "b");
    expect(summarizeChanges(await changesUntil(follower, "source/lib/b.ts"))).toEqual([[CREATED, "source/lib/b.ts"]]);

    rmSync(join(root, "source"), { recursive: true });
    expect(summarizeChanges(await changesUntil(follower, "source"))).toEqual([
      [DELETED, "source"],
      [DELETED, "source/lib"],
      [DELETED, "source/lib/a.ts"],
      [DELETED, "source/lib/b.ts"],
    ]);
    expect((await listWatches(agent.watch))[0]?.watchedDirectories).toBe(1);
  });

  it("treats an atomic save (write a temporary file, rename it over) as a modification", async () => {
    const root = join(agent.workDir, "atomic");
    makeTree(root, ["config.json"]);
    const watch = await startWatch(agent.watch, { path: root, debounceMs: 100 });
    const follower = follow({ watchId: watch.watchId });

    writeFileSync(join(root, ".config.json.tmp"), "{}");
    renameSync(join(root, ".config.json.tmp"), join(root, "config.json"));
    expect(summarizeChanges(await changesUntil(follower, "config.json"))).toEqual([[MODIFIED, "config.json"]]);
  });

  it("never reports ignored paths and spends no inotify watch on them", async () => {
    const root = join(agent.workDir, "ignores");
    makeTree(root, [
      "node_modules/pkg/lib/",
      ".git/objects/",
      "build/out/",
      "src/",
      "tmp/",
      ".gitignore",
      "src/.gitignore",
    ]);
    writeFileSync(join(root, ".gitignore"), "# build output\nbuild/\n*.log\n!keep.log\n");
    writeFileSync(join(root, "src/.gitignore"), "secret.txt\n");
    const watch = await startWatch(agent.watch, { path: root, ignore: ["tmp/"], debounceMs: 100 });
    // The root and src/ only: node_modules, .git (defaults), build (.gitignore) and tmp (request) are not entered.
    expect(watch.watchedDirectories).toBe(2);
    expect(watch.defaultIgnores).toContain("node_modules/");
    expect(watch.ignore).toEqual(["tmp/"]);
    const follower = follow({ watchId: watch.watchId });

    writeFileSync(join(root, "node_modules/pkg/lib/index.js"), "x");
    mkdirSync(join(root, "node_modules/other"));
    writeFileSync(join(root, ".git/objects/ab"), "x");
    writeFileSync(join(root, "build/out/app.js"), "x");
    mkdirSync(join(root, "tmp/cache"));
    writeFileSync(join(root, "debug.log"), "x");
    writeFileSync(join(root, "src/secret.txt"), "x");
    mkdirSync(join(root, "src/node_modules"));
    writeFileSync(join(root, "keep.log"), "x");
    writeFileSync(join(root, "src/secret.txt.bak"), "x");
    writeFileSync(join(root, "src/main.ts"), "x");

    expect(summarizeChanges(await changesUntil(follower, "src/main.ts"))).toEqual([
      [CREATED, "keep.log"],
      [CREATED, "src/main.ts"],
      [CREATED, "src/secret.txt.bak"],
    ]);
    expect((await listWatches(agent.watch))[0]?.watchedDirectories).toBe(2);
  });

  it("applies a .gitignore edited while watching, and lets the request re-include a default ignore", async () => {
    const root = join(agent.workDir, "gitignore-edit");
    makeTree(root, ["gen/", "node_modules/dep/"]);
    const watch = await startWatch(agent.watch, { path: root, ignore: ["!node_modules/"], debounceMs: 100 });
    expect(watch.watchedDirectories).toBe(4);
    const follower = follow({ watchId: watch.watchId });

    writeFileSync(join(root, ".gitignore"), "gen/\n");
    await changesUntil(follower, ".gitignore");
    expect((await listWatches(agent.watch))[0]?.watchedDirectories).toBe(3);

    writeFileSync(join(root, "gen/out.js"), "x");
    writeFileSync(join(root, "node_modules/dep/index.js"), "x");
    expect(summarizeChanges(await changesUntil(follower, "node_modules/dep/index.js"))).toEqual([
      [CREATED, "node_modules/dep/index.js"],
    ]);
  });

  it("honours the .gitignore of the enclosing git repository when watching a subdirectory", async () => {
    const repo = join(agent.workDir, "repo");
    makeTree(repo, [".git/", "app/", "app/dist/"]);
    writeFileSync(join(repo, ".gitignore"), "dist/\n*.tmp\n");
    const watch = await startWatch(agent.watch, { path: join(repo, "app"), debounceMs: 100 });
    expect(watch.watchedDirectories).toBe(1);
    const follower = follow({ watchId: watch.watchId });

    writeFileSync(join(repo, "app/dist/bundle.js"), "x");
    writeFileSync(join(repo, "app/scratch.tmp"), "x");
    writeFileSync(join(repo, "app/index.ts"), "x");
    expect(summarizeChanges(await changesUntil(follower, "index.ts"))).toEqual([[CREATED, "index.ts"]]);
  });

  it("watches only the direct children when not recursive", async () => {
    const root = join(agent.workDir, "flat");
    makeTree(root, ["sub/"]);
    const watch = await startWatch(agent.watch, { path: root, recursive: false, debounceMs: 100 });
    expect(watch).toMatchObject({ recursive: false, watchedDirectories: 1 });
    const follower = follow({ watchId: watch.watchId });

    writeFileSync(join(root, "sub/inner.txt"), "x");
    mkdirSync(join(root, "newdir"));
    writeFileSync(join(root, "top.txt"), "x");
    expect(summarizeChanges(await changesUntil(follower, "top.txt"))).toEqual([
      [CREATED, "newdir"],
      [CREATED, "top.txt"],
    ]);
  });

  it("watches a single file through its directory, across deletion and atomic replacement", async () => {
    const root = join(agent.workDir, "single");
    makeTree(root, ["notes.md", "other.md"]);
    const watch = await startWatch(agent.watch, { path: "single/notes.md", debounceMs: 100 });
    expect(watch).toMatchObject({
      path: join(root, "notes.md"),
      root,
      type: FILE,
      recursive: false,
      gitignore: false,
      watchedDirectories: 1,
      defaultIgnores: [],
    });
    const follower = follow({ watchId: watch.watchId });

    writeFileSync(join(root, "other.md"), "not watched");
    appendFileSync(join(root, "notes.md"), "edit");
    expect(summarizeChanges(await changesUntil(follower, "notes.md"))).toEqual([[MODIFIED, "notes.md"]]);

    writeFileSync(join(root, "notes.md.swp"), "new");
    renameSync(join(root, "notes.md.swp"), join(root, "notes.md"));
    expect(summarizeChanges(await changesUntil(follower, "notes.md"))).toEqual([[MODIFIED, "notes.md"]]);

    rmSync(join(root, "notes.md"));
    expect(summarizeChanges(await changesUntil(follower, "notes.md"))).toEqual([[DELETED, "notes.md"]]);
    writeFileSync(join(root, "notes.md"), "back");
    expect(summarizeChanges(await changesUntil(follower, "notes.md"))).toEqual([[CREATED, "notes.md"]]);
  });

  it("replays the history after a cursor to several readers, and long-polls with ReadChanges", async () => {
    const root = join(agent.workDir, "replay");
    makeTree(root, []);
    const watch = await startWatch(agent.watch, { path: root, debounceMs: 50 });
    for (const name of ["one", "two", "three"]) {
      writeFileSync(join(root, name), name);
      const { events } = await readChanges(agent.watch, {
        watchId: watch.watchId,
        afterCursor: (await listWatches(agent.watch))[0]!.cursor,
        waitMs: 10_000,
      });
      expect(summarizeChanges(events.flatMap(changesIn))).toEqual([[CREATED, name]]);
    }

    const fromStart = follow({ watchId: watch.watchId, afterCursor: 0 });
    const fromTwo = follow({ watchId: watch.watchId, afterCursor: 2 });
    const first = [await fromStart.next(), await fromStart.next(), await fromStart.next()];
    expect(first.map((event) => [event.cursor, changesIn(event)[0]?.path])).toEqual([
      [1, "one"],
      [2, "two"],
      [3, "three"],
    ]);
    const third = await fromTwo.next();
    expect([third.cursor, changesIn(third)[0]?.path]).toEqual([3, "three"]);
    expect((await listWatches(agent.watch))[0]).toMatchObject({ cursor: 3, oldestCursor: 1, readers: 2 });

    const page = await readChanges(agent.watch, { watchId: watch.watchId, afterCursor: 0, maxEvents: 2 });
    expect(page.events.map((event) => event.cursor)).toEqual([1, 2]);
    expect(page).toMatchObject({ nextCursor: 2, hasMore: true });
    const rest = await readChanges(agent.watch, { watchId: watch.watchId, afterCursor: page.nextCursor });
    expect(rest.events.map((event) => event.cursor)).toEqual([3]);
    expect(rest).toMatchObject({ nextCursor: 3, hasMore: false });
    const empty = await readChanges(agent.watch, { watchId: watch.watchId, afterCursor: 3 });
    expect(empty).toEqual({ events: [], nextCursor: 3, hasMore: false });
  });

  it("tells a reader whose cursor fell out of the history to resync, then continues with what is kept", async () => {
    const root = join(agent.workDir, "overflow");
    makeTree(root, []);
    const watch = await startWatch(agent.watch, { path: root, debounceMs: 50, historyLimit: 2 });
    for (const name of ["a", "b", "c", "d"]) {
      const cursor = (await listWatches(agent.watch))[0]!.cursor;
      writeFileSync(join(root, name), name);
      await readChanges(agent.watch, { watchId: watch.watchId, afterCursor: cursor, waitMs: 10_000 });
    }
    expect((await listWatches(agent.watch))[0]).toMatchObject({ cursor: 4, oldestCursor: 3 });

    const follower = follow({ watchId: watch.watchId, afterCursor: 1 });
    const resync = await follower.next();
    expect(resync.cursor).toBe(2);
    expect(resync.event).toEqual({
      $case: "resync",
      value: {
        reason: ResyncReason.RESYNC_REASON_HISTORY_OVERFLOW,
        message:
          "Events after cursor 1 up to 2 were dropped from this watch's history (it keeps at most 2 events and 100000 changes); re-list the tree, then continue from cursor 2.",
      },
    });
    expect([await follower.next(), await follower.next()].map((event) => changesIn(event)[0]?.path)).toEqual([
      "c",
      "d",
    ]);

    const polled = await readChanges(agent.watch, { watchId: watch.watchId, afterCursor: 0 });
    expect(polled.events.map((event) => event.event?.$case)).toEqual(["resync", "changes", "changes"]);
  });

  it("sends keepalives carrying the reader's cursor while nothing happens", async () => {
    const root = join(agent.workDir, "quiet");
    makeTree(root, []);
    const watch = await startWatch(agent.watch, { path: root });
    const follower = follow({ watchId: watch.watchId, keepaliveMs: 100 });
    const keepalive = await follower.next();
    expect(keepalive).toMatchObject({ cursor: 0, event: { $case: "keepalive", value: {} } });
  });

  it("ends the watch cleanly when the watched directory is deleted", async () => {
    const root = join(agent.workDir, "doomed");
    makeTree(root, ["sub/", "sub/file.txt"]);
    const watch = await startWatch(agent.watch, { path: root, debounceMs: 100 });
    const follower = follow({ watchId: watch.watchId });

    rmSync(root, { recursive: true });
    const ended = await follower.next((event) => event.event?.$case === "ended");
    expect(ended.event).toEqual({
      $case: "ended",
      value: {
        reason: WatchEndReason.WATCH_END_REASON_ROOT_DELETED,
        message: `The watched directory "${root}" was deleted or moved away; start a new watch once it exists again.`,
      },
    });
    expect(summarizeChanges(follower.events.flatMap(changesIn))).toEqual([
      [DELETED, ""],
      [DELETED, "sub"],
      [DELETED, "sub/file.txt"],
    ]);
    expect(await follower.ended).toBeUndefined();
    // A reader that comes later still learns how the watch ended, and its stream ends too.
    const late = follow({ watchId: watch.watchId });
    expect((await late.next()).event?.$case).toBe("ended");
    expect(await late.ended).toBeUndefined();
    expect((await listWatches(agent.watch))[0]).toMatchObject({
      watchId: watch.watchId,
      state: WatchState.WATCH_STATE_ENDED,
      endReason: WatchEndReason.WATCH_END_REASON_ROOT_DELETED,
      watchedDirectories: 0,
    });
  });

  it("ends its readers when closed and forgets it", async () => {
    const root = join(agent.workDir, "closing");
    makeTree(root, []);
    const watch = await startWatch(agent.watch, { path: root });
    const follower = follow({ watchId: watch.watchId });

    const closed = await closeWatch(agent.watch, watch.watchId);
    expect(closed).toMatchObject({
      watchId: watch.watchId,
      state: WatchState.WATCH_STATE_ENDED,
      endReason: WatchEndReason.WATCH_END_REASON_CLOSED,
      watchedDirectories: 0,
    });
    expect((await follower.next()).event).toEqual({
      $case: "ended",
      value: { reason: WatchEndReason.WATCH_END_REASON_CLOSED, message: `Watch "${watch.watchId}" was closed.` },
    });
    expect(await follower.ended).toBeUndefined();
    expect(await listWatches(agent.watch)).toEqual([]);

    const notFound = `Watch "${watch.watchId}" not found; it was closed, closed after being idle, or the agent restarted. List watches with ListWatches or start one with StartWatch.`;
    await expect(closeWatch(agent.watch, watch.watchId)).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details: notFound,
    });
    expect(await followWatch(agent.watch, { watchId: watch.watchId }).ended).toMatchObject({
      code: status.NOT_FOUND,
      details: notFound,
    });
  });

  it("closes a watch that has had no reader for its idle timeout", async () => {
    const root = join(agent.workDir, "idle");
    makeTree(root, []);
    const watch = await startWatch(agent.watch, { path: root, idleTimeoutMs: 200 });
    await expect
      .poll(async () => (await listWatches(agent.watch)).map((info) => info.watchId), { timeout: 5_000 })
      .not.toContain(watch.watchId);
  });

  it("refuses bad requests with the field, the value and the fix", async () => {
    const missing = join(agent.workDir, "no-such-dir");
    await expect(startWatch(agent.watch, { path: "no-such-dir" })).rejects.toMatchObject({
      code: status.NOT_FOUND,
      details: `Cannot watch "${missing}": no such file or directory`,
    });
    await expect(startWatch(agent.watch, { path: ".", debounceMs: 20_000 })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: "debounce_ms 20000 is out of range; use 1 to 10000, or 0 for the default 50.",
    });
    const watch = await startWatch(agent.watch, { path: "." });
    await expect(readChanges(agent.watch, { watchId: watch.watchId, afterCursor: 7 })).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: `Cursor 7 is ahead of watch "${watch.watchId}", whose latest cursor is 0; pass a cursor this watch returned, or 0 for everything its history holds.`,
    });
    expect(await followWatch(agent.watch, { watchId: watch.watchId, keepaliveMs: 5 }).ended).toMatchObject({
      code: status.INVALID_ARGUMENT,
      details: "keepalive_ms 5 is out of range; use 100 to 300000, or 0 for the default 15000.",
    });
  });
});

describe("WatchService at agent shutdown", () => {
  it("ends every watch's readers when the agent shuts down", async () => {
    const agent = await startWatchAgent();
    const watch = await startWatch(agent.watch, { path: "." });
    const follower = followWatch(agent.watch, { watchId: watch.watchId });
    await expect.poll(async () => (await listWatches(agent.watch))[0]?.readers, { timeout: 5_000 }).toBe(1);
    const closing = agent.close();
    expect((await follower.next()).event).toEqual({
      $case: "ended",
      value: {
        reason: WatchEndReason.WATCH_END_REASON_SHUTDOWN,
        message: "The runner agent is shutting down; start the watch again once the runner is back.",
      },
    });
    await closing;
  });
});
