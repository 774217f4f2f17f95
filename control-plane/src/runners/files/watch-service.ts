import { posix } from "node:path";
import type { WatchChange, WatchChanges, WatchInfo } from "../../agent-client/watch-info.js";
import { ControlPlaneError } from "../../errors.js";
import type { Logger } from "../../log.js";
import type { Principal } from "../runner.js";
import { resolveRunnerPath } from "./runner-path.js";
import type { RunnerService } from "../runner-service.js";

export type { WatchChange, WatchChanges, WatchEvent, WatchInfo } from "../../agent-client/watch-info.js";

export interface WatchOptions {
  recursive: boolean;
  /** .gitignore-style patterns relative to the watched directory. */
  ignore: string[];
  gitignore: boolean;
  /** Events kept for late readers; undefined: the agent's default (1000). */
  historyLimit?: number | undefined;
}

/** A path followed live; close() (or leaving an `await using` scope) stops following and closes the agent's watch. */
export interface WatchHandle extends AsyncDisposable {
  close(): Promise<void>;
}

/** A followed path's watch closes by itself this long after its follower went away without closing it. */
const FOLLOW_IDLE_TIMEOUT_MS = 60_000;

/** Watches on paths in a principal's runners: started, read by cursor, closed, or followed live. */
export class WatchService {
  constructor(
    private readonly runners: RunnerService,
    private readonly log: Logger,
  ) {}

  async start(principal: Principal, runnerRef: string, path: string, options: WatchOptions): Promise<WatchInfo> {
    const agent = await this.runners.connect(principal, runnerRef);
    const info = await agent.watch.start({ path: resolveRunnerPath(path), ...options });
    this.log.info(
      {
        runner: runnerRef,
        principal: principal.id,
        watch: info.watchId,
        path: info.path,
        directories: info.watchedDirectories,
      },
      "watch started",
    );
    return info;
  }

  /** Events after `cursor`, waiting up to `waitMs` for the first one. */
  async changes(
    principal: Principal,
    runnerRef: string,
    watchId: string,
    cursor: number,
    waitMs: number,
    maxEvents: number,
  ): Promise<WatchChanges> {
    const agent = await this.runners.connect(principal, runnerRef);
    return agent.watch.read(watchId, cursor, waitMs, maxEvents).catch((error: unknown) => {
      if (error instanceof ControlPlaneError && error.code === "NOT_FOUND") {
        throw new ControlPlaneError(
          "NOT_FOUND",
          `Watch "${watchId}" not found in runner "${runnerRef}": it was closed after 10 minutes without fs_changes calls, its runner restarted, or the id is wrong. ` +
            "Start a new watch with fs_watch and re-list the tree.",
          {
            cause: error,
            hint: "fs_watch starts a new watch (its watch_id and cursor replace these); changes meanwhile were not recorded, so re-list the tree with fs_list.",
          },
        );
      }
      throw error;
    });
  }

  async close(principal: Principal, runnerRef: string, watchId: string): Promise<WatchInfo> {
    const agent = await this.runners.connect(principal, runnerRef);
    return agent.watch.close(watchId).catch((error: unknown) => {
      if (error instanceof ControlPlaneError && error.code === "NOT_FOUND")
        throw new ControlPlaneError(
          "NOT_FOUND",
          `Watch "${watchId}" not found in runner "${runnerRef}": it is closed already (fs_unwatch, or 10 minutes without fs_changes calls), its runner restarted, or the id is wrong.`,
          { cause: error, hint: "Nothing to close; fs_watch starts a new watch." },
        );
      throw error;
    });
  }

  /**
   * Calls `onChange` whenever the file or directory tree at `path` changes, changes were lost (resync), or the
   * watch ended. A directory is followed recursively. A path that does not exist yet is followed through its
   * directory, so its creation counts as a change.
   */
  async follow(principal: Principal, runnerRef: string, path: string, onChange: () => void): Promise<WatchHandle> {
    const target = resolveRunnerPath(path);
    const agent = await this.runners.connect(principal, runnerRef);
    const options = { ignore: [], gitignore: true, idleTimeoutMs: FOLLOW_IDLE_TIMEOUT_MS };
    let info: WatchInfo;
    let only: string | undefined;
    try {
      info = await agent.watch.start({ path: target, recursive: true, ...options });
    } catch (error) {
      if (!(error instanceof ControlPlaneError) || error.code !== "NOT_FOUND" || target === "/") throw error;
      info = await agent.watch.start({ path: posix.dirname(target), recursive: false, ...options });
      only = target;
    }
    const log = this.log.child({ runner: runnerRef, principal: principal.id, watch: info.watchId, path: target });
    const concerns = (change: WatchChange): boolean =>
      only === undefined || change.absolutePath === only || change.oldAbsolutePath === only;
    const stream = agent.watch.stream(info.watchId, info.cursor, (event) => {
      if (event.type !== "changes" || event.changes.some(concerns)) onChange();
    });
    stream.ended.catch((error: unknown) => {
      log.warn({ err: error }, "following a watch failed; no more change notifications for this path");
      onChange();
    });
    log.debug("following path");
    const close = async (): Promise<void> => {
      stream.cancel();
      await agent.watch
        .close(info.watchId)
        .catch((error: unknown) =>
          log.debug({ err: error }, "closing a followed watch failed; the agent reaps it when idle"),
        );
    };
    return { close, [Symbol.asyncDispose]: close };
  }
}
