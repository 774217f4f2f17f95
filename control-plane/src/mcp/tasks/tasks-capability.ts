import type { ServerCapabilities } from "@modelcontextprotocol/sdk/types.js";

/**
 * The `tasks` server capability for a server built with a principal task store: tasks can be listed and cancelled,
 * and tools/call may be task-augmented. Without it the SDK refuses task-augmented calls.
 */
export const TASKS_CAPABILITY = {
  list: {},
  cancel: {},
  requests: { tools: { call: {} } },
} satisfies ServerCapabilities["tasks"];
