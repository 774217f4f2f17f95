import type { StateStore } from "../store/state-store.js";

export type { TaskRecord } from "../store/state-store.js";

/**
 * The domain's record of tasks, one principal's at a time: the part of the state store that keeps them. mcp/ reaches
 * it through here, never through store/ directly; the composition root passes the store itself.
 */
export type TaskLedger = Pick<StateStore, "createTask" | "getTask" | "updateTask" | "listTasks">;
