import { spawn, type ChildProcess } from "node:child_process";
import { AgentError, fromSystemError } from "../errors.js";
import { markLikelyOomVictim } from "./oom-score.js";
import { argumentsTooLong } from "./spawn-arguments.js";
import { OUTPUT_DRAIN_MS, type LaunchSpec, type ProcessIo, type ProcessIoEvents } from "./process-io.js";

/** Starts a process on pipes, in its own process group; resolves once it runs. */
export async function launchPipeProcess(spec: LaunchSpec, events: ProcessIoEvents): Promise<ProcessIo> {
  const [program, ...args] = spec.argv as [string, ...string[]];
  const child = spawn(program, args, {
    cwd: spec.cwd,
    env: spec.env,
    detached: true,
    stdio: ["pipe", "pipe", "pipe"],
    ...(spec.uid !== undefined ? { uid: spec.uid, gid: spec.gid ?? 0 } : {}),
  });
  // At once, before the first await: the program has just been exec'd.
  if (child.pid !== undefined) markLikelyOomVictim(child.pid);
  const pid = await spawned(child, program, spec.cwd);
  // A program that never reads its stdin makes writes fail with EPIPE; the write's promise reports it.
  child.stdin!.on("error", () => undefined);
  for (const name of ["stdout", "stderr"] as const)
    child[name]!.on("data", (data: Buffer) => events.onOutput(name, data));

  let finished = false;
  const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
    if (finished) return;
    finished = true;
    child.stdin!.destroy();
    events.onExit(code, signal);
  };
  child.once("close", finish);
  child.once("exit", (code, signal) => {
    setTimeout(() => {
      child.stdout!.destroy();
      child.stderr!.destroy();
      finish(code, signal);
    }, OUTPUT_DRAIN_MS).unref();
  });

  return {
    pid,
    write: (data) =>
      new Promise((resolve, reject) => {
        if (!child.stdin!.writable) return reject(Object.assign(new Error("write after end"), { code: "EPIPE" }));
        child.stdin!.write(data, (error) => (error ? reject(error) : resolve()));
      }),
    closeStdin: () => child.stdin!.end(),
    pauseOutput: () => {
      child.stdout!.pause();
      child.stderr!.pause();
    },
    resumeOutput: () => {
      child.stdout!.resume();
      child.stderr!.resume();
    },
    resize: () => undefined,
  };
}

/** Resolves with the pid once the process runs, or rejects with a clear error when it cannot be started. */
function spawned(child: ChildProcess, program: string, cwd: string): Promise<number> {
  return new Promise((resolvePid, reject) => {
    child.once("spawn", () => resolvePid(child.pid!));
    child.on("error", (error: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return;
      reject(launchError(error, program, cwd));
    });
  });
}

/** The error for a program that could not be started, shared by pipes and terminals. */
export function launchError(error: NodeJS.ErrnoException, program: string, cwd: string): AgentError {
  if (error.code === "ENOENT") {
    return new AgentError(
      "NOT_FOUND",
      `Cannot start "${program}": no such program in PATH. Check the name, or run it through a shell command.`,
      { cause: error },
    );
  }
  if (error.code === "EACCES" || error.code === "EPERM") {
    return new AgentError(
      "PERMISSION_DENIED",
      `Cannot start "${program}" in "${cwd}": permission denied. Check that the program is executable and that the user may enter the directory.`,
      { cause: error },
    );
  }
  if (error.code === "E2BIG") return argumentsTooLong(program, error);
  return fromSystemError(error, "start", program);
}
