import type { ProcessInfo } from "../exec/process-info.js";
import type { WatchSummary } from "../watch/watch.js";

const iso = (ms: number | undefined): string => (ms === undefined ? "" : new Date(ms).toISOString());

/** A process as the debug endpoint shows it: flat, snake_case, sizes in bytes. */
export function toProcessRecord(info: ProcessInfo): Record<string, unknown> {
  return {
    id: info.id,
    pid: info.pid,
    state: info.state,
    command: info.command,
    cwd: info.cwd,
    user: info.user || "(agent)",
    pty: info.pty,
    stdin_open: info.stdinOpen,
    exit: info.exit
      ? info.exit.exitCode !== undefined
        ? `${info.exit.reason} ${info.exit.exitCode}`
        : `${info.exit.reason} ${info.exit.signal ?? ""}`.trim()
      : "",
    started_at: iso(info.startedAtMs),
    ended_at: iso(info.endedAtMs),
    output_bytes: info.output.endCursor,
    dropped_bytes: info.output.startCursor,
    memory_bytes: info.output.memoryBytes,
    spilled_bytes: info.output.spilledBytes,
    readers: info.output.readers,
  };
}

/** A watch as the debug endpoint shows it. */
export function toWatchRecord(summary: WatchSummary): Record<string, unknown> {
  return {
    id: summary.id,
    path: summary.path,
    kind: summary.kind,
    recursive: summary.options.recursive,
    cursor: summary.cursor,
    oldest_cursor: summary.oldestCursor,
    watched_directories: summary.watchedDirectories,
    readers: summary.readers,
    ended: summary.endReason ?? "",
    created_at: iso(summary.createdAtMs),
  };
}
