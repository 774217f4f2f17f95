/** A job's lifecycle: waiting for a slot, then its runner starting, the repository cloning, the agent running, the result being collected. */
export const JOB_ACTIVE_STATUSES = ["queued", "starting", "cloning", "running", "collecting"] as const;
/** How a job ended. */
export const JOB_END_STATUSES = ["succeeded", "failed", "timed_out", "cancelled"] as const;
export const JOB_STATUSES = [...JOB_ACTIVE_STATUSES, ...JOB_END_STATUSES] as const;

export type JobStatus = (typeof JOB_STATUSES)[number];
export type JobEndStatus = (typeof JOB_END_STATUSES)[number];

export function isJobEnded(status: JobStatus): status is JobEndStatus {
  return (JOB_END_STATUSES as readonly string[]).includes(status);
}

/** Job ids: `j-` and 12 hex digits; a job's runner has the job id as its alias. */
export const JOB_ID_PATTERN = /^j-[0-9a-f]{12}$/;
/** Secret names: what the agent finds as file names in $DEVHATCHERY_SECRETS_DIR. */
export const SECRET_NAME_PATTERN = /^[A-Z_][A-Z0-9_]{0,63}$/;

/** Where a job's repository comes from. */
export interface JobRepository {
  url: string;
  /** A branch, tag or commit; the remote's default branch when omitted. */
  ref?: string | undefined;
  /** The name of a secret of this job (or an operator secret) holding the password or token for http(s) URLs. */
  credential?: string | undefined;
  username?: string | undefined;
}

/** A job as asked for, after defaults: secret values are never part of it (only their names and sources). */
export interface JobRequest {
  profile: string;
  task: string;
  image?: string | undefined;
  snapshot?: string | undefined;
  repository?: JobRepository | undefined;
  /** Secret name → "value" (given in the call, kept in memory only) or the operator secret it comes from. */
  secrets: Record<string, { source: "value" } | { source: "operator"; ref: string }>;
  env: Record<string, string>;
  storage: "volume" | "tmpfs";
  cpus?: number | undefined;
  memoryMb?: number | undefined;
  network: boolean;
  timeoutS: number;
  keep: boolean;
  keepForS: number;
  /** Globs (relative to /work) of files exported as the job's artifact archive. */
  artifacts: string[];
}

export interface ChangedFile {
  path: string;
  /** git's status letter: A added, M modified, D deleted, R renamed (from `previousPath`), T type changed. */
  status: string;
  previousPath?: string | undefined;
}

/** What a job left: exit, output, result, diff and artifacts. */
export interface JobOutcome {
  exitCode: number | null;
  signal: string | null;
  /** Why it ended, one word: exited, timed_out, cancelled, clone_failed, start_failed, oom_killed, interrupted, error. */
  reason: string;
  /** One sentence for people. */
  message: string;
  durationMs: number;
  outputBytes: number;
  outputTruncated: boolean;
  /** The last part of the output (both streams, as written), secrets redacted. */
  outputTail: string;
  /** The structured result the agent wrote (result.json, or its JSON output), when there is one. */
  result?: unknown;
  /** Why no result could be read, when the profile expects one. */
  resultError?: string | undefined;
  baseCommit?: string | undefined;
  diff?: string | undefined;
  diffBytes?: number | undefined;
  diffTruncated?: boolean | undefined;
  changedFiles?: ChangedFile[] | undefined;
  artifacts?: { exportId: string; name: string; hostPath: string; bytes: number; files: number } | undefined;
  artifactsError?: string | undefined;
}

/**
 * An outcome without a process exit or output: `reason` and `message` as given, the output fields empty (the job's
 * end fills them from its output log).
 */
export function jobOutcome(
  reason: string,
  message: string,
  durationMs = 0,
  extra: Partial<JobOutcome> = {},
): JobOutcome {
  return {
    exitCode: null,
    signal: null,
    reason,
    message,
    durationMs,
    outputBytes: 0,
    outputTruncated: false,
    outputTail: "",
    ...extra,
  };
}

export interface JobRecord {
  jobId: string;
  principal: string;
  status: JobStatus;
  /** What it is doing now ("queued: position 2 of 3", "cloning …"), or how it ended. */
  message: string;
  request: JobRequest;
  outcome: JobOutcome | undefined;
  runnerId: string | undefined;
  createdAt: string;
  startedAt: string | undefined;
  endedAt: string | undefined;
  /** The runner is kept for inspection until then (keep: true). */
  keptUntil: string | undefined;
}
