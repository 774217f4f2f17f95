/** Every tool the control plane serves, sorted; e2e tests check tools/list against it. */
export const TOOL_NAMES = [
  "exec",
  "exec_list",
  "exec_read",
  "exec_signal",
  "exec_write",
  "fs_changes",
  "fs_list",
  "fs_mkdir",
  "fs_move",
  "fs_read",
  "fs_remove",
  "fs_stat",
  "fs_watch",
  "fs_write",
  "runner_remove",
  "runner_spawn",
];
