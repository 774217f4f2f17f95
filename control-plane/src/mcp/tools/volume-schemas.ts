import { z } from "zod";
import type { WorkspaceInfo } from "../../runners/runner.js";

/** A workspace as volume_list and volume_remove show it. */
export const workspaceOutputSchema = z.object({
  workspace_key: z
    .string()
    .describe('The workspace\'s key, e.g. "my-project"; pass it to runner_spawn, runner_attach or volume_remove.'),
  volume: z.string().describe("The Docker volume behind it."),
  created_at: z.string().describe("Creation time, ISO 8601."),
  size_bytes: z
    .number()
    .int()
    .optional()
    .describe("Disk space its files take, in bytes (left out when sizes were not asked for or Docker could not tell)."),
  last_used_at: z
    .string()
    .optional()
    .describe("When a runner last was spawned on, attached to or used it, ISO 8601, when known."),
  runners: z
    .array(z.string())
    .describe("The runners (running or stopped) that mount it; volume_remove refuses while there are any."),
});

export type WorkspaceOutput = z.infer<typeof workspaceOutputSchema>;

export function toWorkspaceOutput(workspace: WorkspaceInfo): WorkspaceOutput {
  return {
    workspace_key: workspace.workspaceKey,
    volume: workspace.volume,
    created_at: workspace.createdAt,
    ...(workspace.sizeBytes === undefined ? {} : { size_bytes: workspace.sizeBytes }),
    ...(workspace.lastUsedAt === undefined ? {} : { last_used_at: workspace.lastUsedAt }),
    runners: workspace.runners,
  };
}
