import type { AgentClient } from "../agent-client/agent-client.js";
import type { JobProfileConfig } from "../config.js";
import type { Logger } from "../log.js";
import type { ExecService } from "../runners/exec/exec-service.js";
import type { ExecOutcome } from "../runners/exec/exec.js";
import type { ExportService } from "../runners/exports/export-service.js";
import type { Principal } from "../runners/runner.js";
import type { RunnerService } from "../runners/runner-service.js";
import { jobOutcome, type ChangedFile, type JobOutcome, type JobRequest, type JobStatus } from "./job.js";
import type { JobOutputLog } from "./job-output-log.js";
import {
  agentCommand,
  COLLECT_SCRIPT,
  jobEnvironment,
  NO_REPOSITORY_SCRIPT,
  parseNameStatus,
  parseStdoutJson,
  PATCH_FILE,
  PREPARE_SCRIPT,
  RESULT_FILE,
  SECRETS_DIR,
  TASK_FILE,
  WORK_DIR,
} from "./job-paths.js";
import type { SecretRedactor } from "./secret-redactor.js";
import { JobSteps, StepTimeout } from "./job-steps.js";

/** The diff a result carries inline; the whole patch goes with the artifacts. */
export const DIFF_INLINE_BYTES = 256 * 1024;
/** The most bytes of result.json read. */
const RESULT_MAX_BYTES = 1024 * 1024;
/** Budget of the steps around the agent (prepare, collect, scrub), each. */
const STEP_TIMEOUT_MS = 120_000;

/** What a job's execution needs from the control plane. */
export interface JobExecutionDeps {
  runners: RunnerService;
  execs: ExecService;
  exports: ExportService;
  log: Logger;
}

/** One job while it runs: its request, secrets (memory only), output log and how it reports its status. */
export interface LiveJob {
  jobId: string;
  principal: Principal;
  request: JobRequest;
  profile: JobProfileConfig;
  secrets: ReadonlyMap<string, string>;
  output: JobOutputLog;
  redactor: { stdout: SecretRedactor; stderr: SecretRedactor; text: SecretRedactor };
  /** Aborted by job_cancel (reason "cancelled") and by shutdown. */
  signal: AbortSignal;
  setStatus(status: JobStatus, message: string): void;
  setRunner(runnerId: string): void;
}

/** How a job's runner is left when the job ends. */
export interface FinishedJob {
  outcome: JobOutcome;
  status: JobStatus;
  /** The runner exists (it may be kept or must be removed). */
  runnerId: string | undefined;
}

/**
 * Runs one job from its runner's start to its result: spawn, secrets and task into the job folder, clone, the agent
 * (until it exits, the timeout kills it, or job_cancel interrupts it), then the result, the diff and the artifacts.
 * Never throws: every failure becomes the job's outcome. Removing or keeping the runner is the caller's.
 */
export async function executeJob(deps: JobExecutionDeps, job: LiveJob): Promise<FinishedJob> {
  const startedAt = Date.now();
  let runnerId: string | undefined;
  const ended = (status: JobStatus, reason: string, message: string, extra: Partial<JobOutcome> = {}): FinishedJob => ({
    status,
    runnerId,
    outcome: jobOutcome(reason, job.redactor.text.redact(message), Date.now() - startedAt, extra),
  });
  const { request, profile } = job;
  const image = request.snapshot ? `snapshot ${request.snapshot}` : (request.image ?? profile.image);
  job.setStatus("starting", `starting a runner (${image})`);
  try {
    const started = await deps.runners.startSpawn(
      job.principal,
      {
        image: request.snapshot ? undefined : (request.image ?? profile.image),
        snapshot: request.snapshot,
        storage: request.storage,
        alias: job.jobId,
        cpus: request.cpus,
        memoryMb: request.memoryMb,
        network: request.network,
        env: { ...profile.env, ...request.env },
      },
      (progress) => {
        if (progress.phase === "pulling") job.setStatus("starting", `pulling ${image}`);
      },
    );
    runnerId = started.runner.runnerId;
    job.setRunner(runnerId);
    await started.ready;
  } catch (error) {
    return ended("failed", "start_failed", `The job's runner could not be started: ${messageOf(error)}`);
  }
  if (job.signal.aborted) return ended("cancelled", "cancelled", "Cancelled before the agent started.");
  const deadline = Date.now() + request.timeoutS * 1000;
  const step = new JobSteps(deps, job, runnerId);
  try {
    const agent = await deps.runners.connect(job.principal, runnerId);
    await step.script("prepare", PREPARE_SCRIPT, [], STEP_TIMEOUT_MS);
    await writeJobFiles(agent, job);
    let baseCommit: string | undefined;
    if (request.repository) {
      job.setStatus(
        "cloning",
        `cloning ${request.repository.url}${request.repository.ref ? ` at ${request.repository.ref}` : ""}`,
      );
      const cloned = await step.clone(agent, deadline);
      if ("failure" in cloned) return ended(cloned.failure.status, cloned.failure.reason, cloned.failure.message);
      baseCommit = cloned.baseCommit;
    } else {
      await step.script("prepare /work", NO_REPOSITORY_SCRIPT, [], STEP_TIMEOUT_MS);
    }
    job.setStatus("running", `running the ${profile.name} agent`);
    const run = await step.run(
      {
        command: agentCommand(profile, job.jobId, request.task),
        cwd: WORK_DIR,
        env: { ...profile.env, ...request.env, ...jobEnvironment(job.jobId) },
        timeoutMs: Math.max(1, deadline - Date.now()),
      },
      true,
    );
    if (run === "cancelled")
      return ended("cancelled", "cancelled", "Cancelled while the agent ran; it was interrupted.");
    const exit = run.exit;
    const status: JobStatus =
      exit?.reason === "timed_out" ? "timed_out" : exit?.exitCode === 0 ? "succeeded" : "failed";
    job.setStatus("collecting", "collecting the result, the diff and the artifacts");
    const collected = await collect(deps, step, agent, job, baseCommit, run);
    const message =
      status === "succeeded"
        ? "The agent finished (exit code 0)."
        : status === "timed_out"
          ? `The job ran out of its ${request.timeoutS} s; the agent was killed.`
          : exit?.reason === "oom_killed"
            ? "The agent was killed for running out of memory (raise memory_mb)."
            : exit?.signal
              ? `The agent was killed by ${exit.signal}.`
              : `The agent exited with code ${exit?.exitCode ?? "unknown"}.`;
    return ended(status, exit?.reason ?? "exited", message, {
      exitCode: exit?.exitCode ?? null,
      signal: exit?.signal ?? null,
      baseCommit,
      ...collected,
    });
  } catch (error) {
    if (job.signal.aborted) return ended("cancelled", "cancelled", "Cancelled.");
    if (error instanceof StepTimeout) return ended("timed_out", "timed_out", error.message);
    deps.log.warn({ err: error, job: job.jobId, runner: runnerId }, "job failed");
    return ended("failed", "error", `The job failed: ${messageOf(error)}`);
  }
}

/** Secrets (0400 in the private folder) and the task, through the agent: nothing of them on the engine. */
async function writeJobFiles(agent: AgentClient, job: LiveJob): Promise<void> {
  for (const [name, value] of job.secrets)
    await agent.fs.write(`${SECRETS_DIR}/${name}`, Buffer.from(value, "utf8"), {
      createParents: false,
      mode: 0o400,
      ifMatch: "",
    });
  await agent.fs.write(TASK_FILE, Buffer.from(job.request.task, "utf8"), {
    createParents: false,
    mode: 0o400,
    ifMatch: "",
  });
}

async function collect(
  deps: JobExecutionDeps,
  step: JobSteps,
  agent: AgentClient,
  job: LiveJob,
  baseCommit: string | undefined,
  run: ExecOutcome,
): Promise<Partial<JobOutcome>> {
  const collected: Partial<JobOutcome> = {};
  if (job.profile.result === "file") Object.assign(collected, await readResultFile(agent, job));
  else if (job.profile.result === "stdout_json") {
    const parsed = parseStdoutJson(job.redactor.text.redact(run.stdout));
    if ("result" in parsed) collected.result = parsed.result;
    else collected.resultError = parsed.error;
  }
  if (baseCommit !== undefined) {
    try {
      const names = await step.script("diff", COLLECT_SCRIPT, [baseCommit], STEP_TIMEOUT_MS, false);
      collected.changedFiles = parseNameStatus(names.stdout).map((file): ChangedFile => ({
        path: file.path,
        status: file.status,
        previousPath: file.previousPath,
      }));
      const patch = await agent.fs.read(PATCH_FILE, 0, DIFF_INLINE_BYTES);
      collected.diffBytes = patch.info.size;
      collected.diffTruncated = patch.info.size > patch.data.length;
      collected.diff = job.redactor.text.redact(patch.data.toString("utf8"));
    } catch (error) {
      collected.resultError = `${collected.resultError ? `${collected.resultError}; ` : ""}the diff could not be collected: ${messageOf(error)}`;
    }
  }
  // The patch is a file worth keeping whenever the agent changed something; asked-for artifacts go with it.
  if (job.request.artifacts.length > 0 || (collected.changedFiles?.length ?? 0) > 0) {
    try {
      const record = await deps.exports.create(
        job.principal,
        step.runnerId,
        {
          path: WORK_DIR,
          include: [...job.request.artifacts, ".devhatchery/job.patch", ".devhatchery/result.json"],
          exclude: [".git"],
          format: "tar.gz",
          destination: "export_root",
          name: `${job.jobId}-artifacts`,
        },
        undefined,
        job.signal,
      );
      collected.artifacts = {
        exportId: record.manifest.export_id,
        name: record.manifest.name,
        hostPath: record.hostPath,
        bytes: record.manifest.bytes_written,
        files: record.manifest.file_count,
      };
    } catch (error) {
      collected.artifactsError = messageOf(error);
    }
  }
  return collected;
}

async function readResultFile(agent: AgentClient, job: LiveJob): Promise<{ result?: unknown; resultError?: string }> {
  let content: Buffer;
  try {
    const read = await agent.fs.read(RESULT_FILE, 0, RESULT_MAX_BYTES + 1);
    content = read.data;
  } catch {
    return { resultError: `the agent wrote no ${RESULT_FILE}` };
  }
  if (content.length > RESULT_MAX_BYTES)
    return { resultError: `${RESULT_FILE} is larger than ${RESULT_MAX_BYTES} bytes; it was not read` };
  try {
    return { result: JSON.parse(job.redactor.text.redact(content.toString("utf8"))) as unknown };
  } catch (error) {
    return { resultError: `${RESULT_FILE} is not JSON: ${messageOf(error)}` };
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
