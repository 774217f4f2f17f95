import type { AgentClient } from "../agent-client/agent-client.js";
import { ControlPlaneError } from "../errors.js";
import type { ExecCommand, ExecOutcome } from "../runners/exec/exec.js";
import type { JobStatus } from "./job.js";
import type { JobExecutionDeps, LiveJob } from "./job-execution.js";
import { CLONE_SCRIPT, checkRepositoryUrl, credentialLine, GIT_CREDENTIALS_FILE } from "./job-paths.js";

/** A step of a job ran out of the job's time. */
export class StepTimeout extends Error {}

/** The job's processes in its runner, with their output in the job's log. */
export class JobSteps {
  constructor(
    private readonly deps: JobExecutionDeps,
    private readonly job: LiveJob,
    readonly runnerId: string,
  ) {}

  /** Runs `sh -c script sh args…`; throws when it fails (its stderr says why). */
  async script(what: string, script: string, args: string[], timeoutMs: number, toLog = true): Promise<ExecOutcome> {
    const run = await this.run({ command: ["/bin/sh", "-c", script, "sh", ...args], cwd: "/", timeoutMs }, toLog);
    if (run === "cancelled") throw new ControlPlaneError("CANCELLED", "The job was cancelled.");
    if (run.exit?.reason === "timed_out") throw new StepTimeout(`The job's step "${what}" ran out of time.`);
    if (run.exit?.exitCode !== 0)
      throw new ControlPlaneError(
        "FAILED_PRECONDITION",
        `step "${what}" failed (${run.exit?.signal ?? `exit code ${run.exit?.exitCode}`}): ${lastLines(run.stderr || run.stdout)}`,
      );
    return run;
  }

  async clone(
    agent: AgentClient,
    deadline: number,
  ): Promise<{ baseCommit: string } | { failure: { status: JobStatus; reason: string; message: string } }> {
    const repository = this.job.request.repository!;
    let credentials = "";
    if (repository.credential !== undefined) {
      const password = this.job.secrets.get(repository.credential) ?? "";
      const line = credentialLine(checkRepositoryUrl(repository.url), repository.username ?? "git", password);
      await agent.fs.write(GIT_CREDENTIALS_FILE, Buffer.from(line, "utf8"), {
        createParents: false,
        mode: 0o600,
        ifMatch: "",
      });
      credentials = GIT_CREDENTIALS_FILE;
    }
    const run = await this.run(
      {
        command: ["/bin/sh", "-c", CLONE_SCRIPT, "sh", repository.url, repository.ref ?? "", credentials],
        cwd: "/",
        env: { GIT_TERMINAL_PROMPT: "0" },
        timeoutMs: Math.max(1, deadline - Date.now()),
      },
      true,
    );
    if (run === "cancelled")
      return { failure: { status: "cancelled", reason: "cancelled", message: "Cancelled while cloning." } };
    if (run.exit?.reason === "timed_out")
      return {
        failure: {
          status: "timed_out",
          reason: "timed_out",
          message: `The job ran out of its ${this.job.request.timeoutS} s while cloning ${repository.url}.`,
        },
      };
    const base = /devhatchery-base-commit ([0-9a-f]{40,64})/.exec(run.stdout)?.[1];
    if (run.exit?.exitCode !== 0 || base === undefined)
      return {
        failure: {
          status: "failed",
          reason: "clone_failed",
          message: `Cloning ${repository.url}${repository.ref ? ` at ${repository.ref}` : ""} failed: ${lastLines(run.stderr || run.stdout)}`,
        },
      };
    return { baseCommit: base };
  }

  /** Runs a process to its end; its output goes to the job's log (redacted). "cancelled" when the job was. */
  async run(command: ExecCommand, toLog: boolean): Promise<ExecOutcome | "cancelled"> {
    const { job } = this;
    try {
      const outcome = await this.deps.execs.start(job.principal, this.runnerId, command, {
        signal: job.signal,
        onOutput: toLog ? (chunk) => job.output.append(job.redactor[chunk.stream].push(chunk.text)) : undefined,
      });
      if (toLog) {
        job.output.append(job.redactor.stdout.flush());
        job.output.append(job.redactor.stderr.flush());
      }
      return outcome;
    } catch (error) {
      if (job.signal.aborted) return "cancelled";
      throw error;
    }
  }
}

function lastLines(text: string): string {
  const lines = text.trim().split("\n").slice(-5).join(" / ");
  return lines.length > 1000 ? `…${lines.slice(-1000)}` : lines || "no output";
}
