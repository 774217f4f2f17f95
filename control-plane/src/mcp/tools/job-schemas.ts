import { z } from "zod";
import { JOB_ID_PATTERN, JOB_STATUSES, SECRET_NAME_PATTERN, type JobOutcome } from "../../jobs/job.js";
import type { JobView } from "../../jobs/job-service.js";
import { runnerSpawnInputShape } from "./runner-spawn-schemas.js";

export const jobArg = z
  .string()
  .regex(JOB_ID_PATTERN, 'job must be a job id like "j-0123456789ab" (job_run returns it; job_list lists yours)')
  .describe('The job\'s id, e.g. "j-0123456789ab" (from job_run or job_list).');

const secretValue = z.union([
  z.string().min(1).describe("The value itself: kept in memory only, written to the job's secret file."),
  z
    .object({ ref: z.string().min(1).max(64).describe("The name of a secret the operator keeps (jobs.secrets).") })
    .strict(),
]);

/** job_run's inputs. */
export const jobRunInputShape = {
  task: z
    .string()
    .min(1)
    .max(256 * 1024)
    .describe(
      'What the agent should do, in words (or, for the "shell" profile, the shell script to run). The agent finds it in $DEVHATCHERY_TASK_FILE too.',
    ),
  profile: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .describe(
      'How the agent is started: "shell" (default: the task is a script run by /bin/sh -lc) or an operator profile such as "claude-code" (system_status lists the profiles).',
    ),
  image: runnerSpawnInputShape.image.describe(
    "The image to run the job in instead of the profile's (it needs git for a repository). Not together with snapshot.",
  ),
  snapshot: runnerSpawnInputShape.snapshot.describe(
    "One of your snapshots (id or name) to run the job in instead of an image, e.g. a prepared environment.",
  ),
  repository: z
    .object({
      url: z
        .string()
        .min(1)
        .max(2048)
        .describe(
          "The repository to clone into /work before the agent starts: an https://, http:// or git:// URL without credentials.",
        ),
      ref: z
        .string()
        .regex(
          /^[A-Za-z0-9][A-Za-z0-9._/-]{0,199}$/,
          "ref must be a branch, tag or commit name (letters, digits, . _ / -)",
        )
        .optional()
        .describe("Branch, tag or commit to check out; the default branch when omitted. The diff is taken against it."),
      credential: z
        .string()
        .regex(SECRET_NAME_PATTERN, "credential must name one of the job's secrets (upper-case letters, digits, _)")
        .optional()
        .describe(
          'For a private http(s) repository: the name of one of this job\'s secrets holding the password or token, e.g. "GIT_TOKEN". Used for the clone only.',
        ),
      username: z
        .string()
        .min(1)
        .max(256)
        .optional()
        .describe('The user name going with credential (default "git"; GitHub tokens take "x-access-token").'),
    })
    .strict()
    .optional(),
  secrets: z
    .record(z.string().regex(SECRET_NAME_PATTERN, "secret names are upper-case letters, digits and _"), secretValue)
    .optional()
    .describe(
      'Secrets for the agent, e.g. {"API_KEY": "…"} or {"API_KEY": {"ref": "anthropic"}} for one the operator keeps. Each becomes a file $DEVHATCHERY_SECRETS_DIR/<NAME> readable only by the agent\'s user: never an environment variable, never in docker inspect, logs, the audit log, snapshots or job output (values are redacted from output).',
    ),
  env: runnerSpawnInputShape.env.describe("Environment variables for the agent (not for secrets: use secrets)."),
  storage: runnerSpawnInputShape.storage.describe(
    '"volume" (default): /work is a volume of its own, removed with the job\'s runner. "tmpfs": /work in memory (may take a ready runner from a warm pool).',
  ),
  cpus: runnerSpawnInputShape.cpus,
  memory_mb: runnerSpawnInputShape.memory_mb,
  network: z
    .boolean()
    .optional()
    .describe("Outbound network for the job (the profile's default, usually true; a repository needs it)."),
  timeout_s: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe(
      "Seconds the job may run once its runner is ready (clone and agent); then the agent is killed and the job ends timed_out. Default: the profile's (300 s unless the operator says otherwise).",
    ),
  keep: z
    .boolean()
    .optional()
    .describe(
      "Keep the runner after the job ends, for inspection with exec and fs_* (its alias is the job id), for the server's jobs.keep_for_s; its secrets are removed first. Default false: the runner and its /work are removed.",
    ),
  artifacts: z
    .array(z.string().min(1).max(512))
    .max(100)
    .optional()
    .describe(
      'Globs (relative to /work) of files to export when the job ends, e.g. ["dist/**", "report.md"]: one tar.gz in your export folder (export_list), with the patch (.devhatchery/job.patch) and result.json. A job that changed its repository exports the patch and result even without artifacts.',
    ),
  wait: z
    .boolean()
    .default(true)
    .describe(
      "true (default): return when the job ends, with output as progress notifications. false: return at once with the job id; follow it with job_get.",
    ),
};

export const jobRunInputSchema = z.object(jobRunInputShape);
export type JobRunArgs = z.output<typeof jobRunInputSchema>;

const changedFile = z.object({
  path: z.string(),
  status: z.string().describe("A added, M modified, D deleted, R renamed, C copied, T type changed."),
  previous_path: z.string().optional(),
});

/** A job in every tool's output. */
export const jobOutputShape = {
  job_id: z.string(),
  status: z
    .enum(JOB_STATUSES)
    .describe(
      "queued, starting, cloning, running, collecting; then succeeded (exit 0), failed, timed_out or cancelled.",
    ),
  message: z.string().describe("What it is doing, or how it ended."),
  profile: z.string(),
  created_at: z.string(),
  started_at: z.string().optional(),
  ended_at: z.string().optional(),
  queue_position: z.number().int().optional().describe("Its place in the queue (1 is next) while queued."),
  runner_id: z.string().optional().describe("The job's runner (its alias is the job id)."),
  kept_until: z.string().optional().describe("keep: true: the runner stays until then for exec and fs_* tools."),
  repository: z.string().optional(),
  exit_code: z.number().int().optional(),
  signal: z.string().optional(),
  reason: z
    .string()
    .optional()
    .describe(
      "exited, timed_out, cancelled, clone_failed, start_failed, oom_killed, signaled, control_plane_restart, error.",
    ),
  duration_ms: z.number().int().optional(),
  output_bytes: z.number().int().optional(),
  output_truncated: z.boolean().optional(),
  output_tail: z
    .string()
    .optional()
    .describe("The end of the output (both streams); job_get with output_cursor reads it all."),
  result: z.unknown().optional().describe("The agent's structured result (result.json or its JSON output)."),
  result_error: z.string().optional().describe("Why no result (or no diff) could be read."),
  base_commit: z.string().optional(),
  diff: z.string().optional().describe("git diff of /work against the cloned ref (new files included)."),
  diff_bytes: z.number().int().optional(),
  diff_truncated: z
    .boolean()
    .optional()
    .describe("The diff was longer than 256 KiB; the whole patch is in the artifacts."),
  changed_files: z.array(changedFile).optional(),
  artifacts: z
    .object({
      export_id: z.string(),
      name: z.string(),
      path: z.string(),
      bytes: z.number().int(),
      files: z.number().int(),
    })
    .optional()
    .describe("The exported archive of the job's artifacts (export_list)."),
  artifacts_error: z.string().optional(),
};

export const jobOutputSchema = z.object(jobOutputShape);

/** A job as tools return it: no undefined fields, names as clients know them. */
export function toJobOutput(job: JobView, options: { includeDiff?: boolean } = {}): Record<string, unknown> {
  const outcome: JobOutcome | undefined = job.outcome;
  const output: Record<string, unknown> = {
    job_id: job.jobId,
    status: job.status,
    message: job.message,
    profile: job.request.profile,
    created_at: job.createdAt,
    started_at: job.startedAt,
    ended_at: job.endedAt,
    queue_position: job.queuePosition,
    runner_id: job.runnerId,
    kept_until: job.keptUntil,
    repository: job.request.repository?.url,
  };
  if (outcome) {
    Object.assign(output, {
      exit_code: outcome.exitCode ?? undefined,
      signal: outcome.signal ?? undefined,
      reason: outcome.reason,
      duration_ms: outcome.durationMs,
      output_bytes: outcome.outputBytes,
      output_truncated: outcome.outputTruncated,
      output_tail: outcome.outputTail,
      result: outcome.result,
      result_error: outcome.resultError,
      base_commit: outcome.baseCommit,
      diff: options.includeDiff === false ? undefined : outcome.diff,
      diff_bytes: outcome.diffBytes,
      diff_truncated: outcome.diffTruncated,
      changed_files: outcome.changedFiles?.map((file) => ({
        path: file.path,
        status: file.status,
        previous_path: file.previousPath,
      })),
      artifacts: outcome.artifacts && {
        export_id: outcome.artifacts.exportId,
        name: outcome.artifacts.name,
        path: outcome.artifacts.hostPath,
        bytes: outcome.artifacts.bytes,
        files: outcome.artifacts.files,
      },
      artifacts_error: outcome.artifactsError,
    });
  }
  return JSON.parse(JSON.stringify(output)) as Record<string, unknown>;
}

/** One line for people: what the job is doing or how it ended. */
export function describeJob(job: JobView): string {
  const outcome = job.outcome;
  if (!outcome) return `Job ${job.jobId} (${job.request.profile}) is ${job.status}: ${job.message}.`;
  const parts = [`Job ${job.jobId} (${job.request.profile}) ${job.status}: ${outcome.message}`];
  if (outcome.changedFiles) parts.push(`${outcome.changedFiles.length} file(s) changed.`);
  if (outcome.resultError) parts.push(`Note: ${outcome.resultError}.`);
  if (job.keptUntil) parts.push(`Its runner "${job.jobId}" is kept until ${job.keptUntil}.`);
  const tail = outcome.outputTail.slice(-2000);
  if (tail) parts.push(`\nLast output:\n${tail}`);
  return parts.join(" ");
}
