import { z } from "zod";
import type { RunnerInfo } from "../../runners/runner.js";

/** A runner as the runner_* tools and the runner resource show it (snake_case, optional fields left out when unknown). */
export const runnerOutputShape = {
  runner_id: z
    .string()
    .describe(
      'The runner\'s canonical id, e.g. "r-0123456789ab"; every tool also accepts its alias or workspace_key as `runner`.',
    ),
  status: z
    .enum(["starting", "ready", "paused", "stopped", "failed", "unknown"])
    .describe(
      '"starting": being created; "ready": accepts commands; "paused": its processes are frozen (the next call naming it, or runner_resume, thaws it); "stopped": its container is stopped (runner_attach starts it again); "failed": the spawn failed (see error).',
    ),
  image: z.string().describe("The image the runner runs."),
  created_at: z.string().describe("Creation time, ISO 8601."),
  alias: z.string().optional().describe("The runner's alias, when it has one."),
  workspace_key: z.string().optional().describe("The workspace mounted at /work (storage volume)."),
  storage: z
    .enum(["volume", "tmpfs"])
    .optional()
    .describe(
      '"volume": /work is the workspace volume and outlives the runner; "tmpfs": /work is in memory and gone on removal.',
    ),
  volume: z.string().optional().describe("The Docker volume behind /work (storage volume)."),
  last_activity_at: z.string().optional().describe("The last call that used the runner, ISO 8601, when known."),
  activity: z
    .array(z.enum(["recent_call", "processes", "watches", "streams"]))
    .optional()
    .describe(
      "Why a ready runner counted as in use at its last idle check: a recent call, processes running besides its agent (background ones too), open watches, open streams. Empty: idle.",
    ),
  idle: z
    .object({
      action: z.enum(["stop", "pause"]).describe("What was done to it."),
      at: z.string().describe("When, ISO 8601."),
    })
    .optional()
    .describe(
      "Set when the server stopped or paused the runner because nobody used it; the next call naming it starts it again.",
    ),
  limits: z
    .object({
      cpus: z.number().describe("CPU cores."),
      memory_mb: z.number().int().describe("Memory limit in MiB (no swap)."),
      pids: z.number().int().describe("Maximum number of processes."),
    })
    .optional()
    .describe("The resource limits the runner runs with."),
  network: z.boolean().optional().describe("Whether the runner has outbound network access."),
  profile: z
    .enum(["default", "hardened"])
    .optional()
    .describe('"hardened": non-root user and read-only root filesystem.'),
  error: z
    .string()
    .optional()
    .describe("Why a stopped or failed runner is not ready (the spawn error, or how its agent exited)."),
  exit_code: z.number().int().optional().describe("The agent's exit code when the runner stopped on its own."),
  pooled: z
    .boolean()
    .optional()
    .describe(
      "true: the runner was claimed ready from one of the server's warm pools (a fresh tmpfs /work, a new agent token, your env and limits applied); false: it was created for its spawn. Attaching a workspace always creates one.",
    ),
};

export const runnerOutputSchema = z.object(runnerOutputShape);
export type RunnerOutput = z.infer<typeof runnerOutputSchema>;

export function toRunnerOutput(runner: RunnerInfo): RunnerOutput {
  const output: RunnerOutput = {
    runner_id: runner.runnerId,
    status: runner.status,
    image: runner.image,
    created_at: runner.createdAt,
  };
  if (runner.alias !== undefined) output.alias = runner.alias;
  if (runner.workspaceKey !== undefined) output.workspace_key = runner.workspaceKey;
  if (runner.storage !== undefined) output.storage = runner.storage;
  if (runner.volume !== undefined) output.volume = runner.volume;
  if (runner.lastActivityAt !== undefined) output.last_activity_at = runner.lastActivityAt;
  if (runner.activity !== undefined) output.activity = runner.activity as NonNullable<RunnerOutput["activity"]>;
  if (runner.idle !== undefined) output.idle = runner.idle;
  if (runner.limits !== undefined)
    output.limits = { cpus: runner.limits.cpus, memory_mb: runner.limits.memoryMb, pids: runner.limits.pids };
  if (runner.network !== undefined) output.network = runner.network;
  if (runner.profile !== undefined) output.profile = runner.profile;
  if (runner.error !== undefined) output.error = runner.error;
  if (runner.exitCode !== undefined) output.exit_code = runner.exitCode;
  if (runner.pooled !== undefined) output.pooled = runner.pooled;
  return output;
}

/** One line about a runner for a tool's text rendering. */
export function describeRunner(runner: RunnerInfo): string {
  const names = [runner.alias && `alias ${runner.alias}`, runner.workspaceKey && `workspace ${runner.workspaceKey}`]
    .filter(Boolean)
    .join(", ");
  const error = runner.error
    ? ` — ${runner.error}`
    : runner.idle
      ? ` — ${runner.idle.action === "stop" ? "stopped" : "paused"} while idle; the next call naming it starts it again`
      : "";
  return `${runner.runnerId} ${runner.status} (image ${runner.image}${names ? `, ${names}` : ""})${error}`;
}
