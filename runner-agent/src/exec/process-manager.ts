import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { AgentError, fromSystemError } from "../errors.js";
import type { Logger } from "../log.js";
import { createChildEnv } from "./child-env.js";

export interface ExecSpec {
  argv: string[];
  shell: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
}

export type OutputStreamName = "stdout" | "stderr";

export interface ExecOutcome {
  reason: "exited" | "signaled" | "timed_out";
  exitCode?: number;
  signal?: string;
  durationMs: number;
}

export interface ExecListener {
  onOutput(stream: OutputStreamName, seq: number, data: Buffer): void;
  onExit(outcome: ExecOutcome): void;
}

/** A running process; `terminate` asks it to stop (SIGTERM, then SIGKILL after the grace period). */
export interface ExecHandle {
  readonly id: string;
  readonly pid: number;
  pauseOutput(): void;
  resumeOutput(): void;
  terminate(): void;
}

const KILL_GRACE_MS = 2_000;
/** How long to wait for stdout/stderr to close after the process exited (background children may hold them). */
const STDIO_DRAIN_MS = 500;

/** Starts processes in their own process group and tracks them until they end. */
export class ProcessManager {
  private readonly running = new Map<string, ExecHandle>();

  constructor(
    private readonly workDir: string,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.running.size;
  }

  async start(spec: ExecSpec, listener: ExecListener): Promise<ExecHandle> {
    const argv = commandLine(spec);
    const cwd = resolve(this.workDir, spec.cwd || ".");
    await assertDirectory(cwd);
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd,
      env: createChildEnv(process.env, spec.env),
      detached: true,
      stdio: ["ignore", "pipe", "pipe"],
    });
    const pid = await spawned(child, argv[0]!);
    const id = `ex_${randomBytes(8).toString("hex")}`;
    const handle = this.track(id, pid, child, spec.timeoutMs, listener);
    this.log.info({ exec: id, pid, argv0: argv[0], cwd }, "process started");
    return handle;
  }

  /** Asks every running process to stop; resolves when all have ended or the grace period has passed. */
  async shutdown(): Promise<void> {
    for (const handle of this.running.values()) handle.terminate();
    const deadline = Date.now() + KILL_GRACE_MS + 500;
    while (this.running.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }

  private track(id: string, pid: number, child: ChildProcess, timeoutMs: number, listener: ExecListener): ExecHandle {
    const startedAt = Date.now();
    let seq = 0;
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    const signalGroup = (signal: NodeJS.Signals): void => {
      try {
        process.kill(-pid, signal);
      } catch {
        // The group is already gone.
      }
    };
    const terminate = (): void => {
      signalGroup("SIGTERM");
      killTimer ??= setTimeout(() => signalGroup("SIGKILL"), KILL_GRACE_MS);
    };
    const lifetimeTimer =
      timeoutMs > 0
        ? setTimeout(() => {
            timedOut = true;
            terminate();
          }, timeoutMs)
        : undefined;

    for (const name of ["stdout", "stderr"] as const) {
      child[name]!.on("data", (data: Buffer) => listener.onOutput(name, ++seq, data));
    }

    let finished = false;
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (finished) return;
      finished = true;
      clearTimeout(lifetimeTimer);
      clearTimeout(killTimer);
      this.running.delete(id);
      const durationMs = Date.now() - startedAt;
      const outcome: ExecOutcome = timedOut
        ? { reason: "timed_out", ...(signal ? { signal } : {}), durationMs }
        : signal
          ? { reason: "signaled", signal, durationMs }
          : { reason: "exited", exitCode: code ?? 0, durationMs };
      this.log.info({ exec: id, ...outcome }, "process ended");
      listener.onExit(outcome);
    };
    child.once("close", finish);
    child.once("exit", (code, signal) => {
      setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
        finish(code, signal);
      }, STDIO_DRAIN_MS).unref();
    });

    const handle: ExecHandle = {
      id,
      pid,
      pauseOutput: () => {
        child.stdout?.pause();
        child.stderr?.pause();
      },
      resumeOutput: () => {
        child.stdout?.resume();
        child.stderr?.resume();
      },
      terminate,
    };
    this.running.set(id, handle);
    return handle;
  }
}

function commandLine(spec: ExecSpec): string[] {
  const hasArgv = spec.argv.length > 0;
  const hasShell = spec.shell.length > 0;
  if (hasArgv === hasShell) {
    throw new AgentError("INVALID_ARGUMENT", "Set exactly one of argv (a program and its arguments) or shell (a command string).");
  }
  if (hasShell) return ["/bin/sh", "-lc", spec.shell];
  if (!spec.argv[0]) throw new AgentError("INVALID_ARGUMENT", "argv[0] must name a program, e.g. [\"ls\", \"-la\"].");
  return spec.argv;
}

async function assertDirectory(cwd: string): Promise<void> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(cwd)).isDirectory();
  } catch (error) {
    throw fromSystemError(error, "use working directory", cwd);
  }
  if (!isDirectory) throw new AgentError("FAILED_PRECONDITION", `Working directory "${cwd}" is not a directory.`);
}

/** Resolves with the pid once the process runs, or rejects with a clear error when it cannot be started. */
function spawned(child: ChildProcess, program: string): Promise<number> {
  return new Promise((resolvePid, reject) => {
    child.once("spawn", () => resolvePid(child.pid!));
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return;
      if (error.code === "ENOENT") {
        reject(new AgentError("NOT_FOUND", `Cannot start "${program}": no such program in PATH. Check the name, or run it through a shell command.`, { cause: error }));
      } else {
        reject(fromSystemError(error, "start", program));
      }
    });
  });
}
