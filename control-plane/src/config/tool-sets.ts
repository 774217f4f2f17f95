/**
 * The tool sets a policy names in `tools` (besides single tool names): what a role may do, in words an operator
 * reads. Every tool the server registers is in exactly one set (mcp-server.test.ts checks it), so a set never
 * silently misses a new tool.
 */
export const TOOL_SETS = {
  /** Look, never change: lists, reads, stats, watches, exec output of running processes, status. */
  read: [
    "runner_list",
    "volume_list",
    "snapshot_list",
    "exec_list",
    "exec_read",
    "fs_read",
    "fs_list",
    "fs_stat",
    "fs_watch",
    "fs_changes",
    "fs_unwatch",
    "export_list",
    "system_status",
    "job_list",
    "job_get",
  ],
  /** Run processes and talk to them. */
  exec: ["exec", "exec_write", "exec_signal", "exec_resize"],
  /** Change files. */
  write: ["fs_write", "fs_edit", "fs_mkdir", "fs_move", "fs_remove"],
  /** Create, start, stop and delete runners, workspaces and snapshots. */
  lifecycle: [
    "runner_spawn",
    "runner_attach",
    "runner_stop",
    "runner_pause",
    "runner_resume",
    "runner_remove",
    "volume_remove",
    "snapshot_create",
    "snapshot_remove",
  ],
  /** Write exports (archives and folders) out of runners. */
  export: ["export_create"],
  /** Run and cancel one-shot agent jobs (each in a runner of its own). */
  jobs: ["job_run", "job_cancel"],
} as const;

export type ToolSetName = keyof typeof TOOL_SETS;

/** `all` grants every tool, including ones a later version adds. */
export const ALL_TOOLS = "all";

/** Every tool name the sets know. */
export const KNOWN_TOOLS: readonly string[] = Object.values(TOOL_SETS).flat();

/**
 * The tool names a policy's `tools` list grants, or undefined for all of them. Unknown names are left out (the
 * configuration checks refuse them before a server starts).
 */
export function expandToolList(tools: readonly string[]): ReadonlySet<string> | undefined {
  if (tools.includes(ALL_TOOLS)) return undefined;
  const granted = new Set<string>();
  for (const entry of tools) {
    const set = (TOOL_SETS as Record<string, readonly string[]>)[entry];
    for (const name of set ?? (KNOWN_TOOLS.includes(entry) ? [entry] : [])) granted.add(name);
  }
  return granted;
}
