import { constants } from "node:os";
import { ReadStream } from "node:tty";
import { AgentError } from "../errors.js";
import { markLikelyOomVictim } from "./oom-score.js";
import { launchError } from "./pipe-process.js";
import { OUTPUT_DRAIN_MS, type LaunchSpec, type ProcessIo, type ProcessIoEvents } from "./process-io.js";
import { findProgram } from "./program-path.js";
import { loadPtyAddon } from "./pty-addon.js";

const SIGNAL_NAMES = new Map(
  Object.entries(constants.signals).map(([name, number]) => [number, name as NodeJS.Signals]),
);
/** What a terminal sends for Ctrl-D: end of file for a program reading a line. */
const END_OF_TRANSMISSION = Buffer.from([4]);

/** Starts a process on a new pseudo-terminal (its own session and process group); resolves once it runs. */
export async function launchPtyProcess(spec: LaunchSpec, events: ProcessIoEvents): Promise<ProcessIo> {
  const addon = loadPtyAddon();
  if (addon instanceof Error) {
    throw new AgentError(
      "FAILED_PRECONDITION",
      `Cannot run "${spec.argv[0]}" on a pty: ${addon.message}. Run it without pty, or use a runner image with the agent's pty addon.`,
    );
  }
  const [program, ...args] = spec.argv as [string, ...string[]];
  // node-pty reports a missing program only as output of the forked child, so look it up first.
  const file = await findProgram(program, spec.env.PATH ?? "", spec.cwd).catch((error: NodeJS.ErrnoException) => {
    throw launchError(error, program, spec.cwd);
  });
  const { rows, cols } = spec.terminal!;
  let exit: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let outputClosed = false;
  let finished = false;
  const finish = (): void => {
    if (finished || !exit) return;
    finished = true;
    socket.destroy();
    events.onExit(exit.code, exit.signal);
  };
  const term = forkAs(spec, () =>
    addon.fork(file, args, toEnvList(spec.env), spec.cwd, cols, rows, spec.uid ?? -1, spec.gid ?? -1, true, "", onExit),
  );
  markLikelyOomVictim(term.pid);
  function onExit(code: number, signal: number): void {
    const name = signal > 0 ? (SIGNAL_NAMES.get(signal) ?? null) : null;
    exit = { code: name ? null : code, signal: name };
    if (outputClosed) finish();
    else setTimeout(finish, OUTPUT_DRAIN_MS).unref();
  }

  const socket = new ReadStream(term.fd);
  socket.on("data", (data: Buffer) => events.onOutput("stdout", data));
  // Reading a terminal whose last writer is gone fails with EIO: that is its end of file.
  socket.on("error", () => undefined);
  socket.on("close", () => {
    outputClosed = true;
    finish();
  });

  return {
    pid: term.pid,
    write: (data) =>
      new Promise((resolve, reject) => socket.write(data, (error) => (error ? reject(error) : resolve()))),
    closeStdin: () => socket.write(END_OF_TRANSMISSION),
    pauseOutput: () => socket.pause(),
    resumeOutput: () => socket.resume(),
    resize: (newRows, newCols) => addon.resize(term.fd, newCols, newRows),
  };
}

/**
 * Forks with no supplementary groups when switching user: the addon only calls setgid/setuid, so the child would
 * otherwise keep the agent's groups (root's). Pipes get the same from libuv.
 */
function forkAs<T>(spec: LaunchSpec, fork: () => T): T {
  if (spec.uid === undefined || process.getuid?.() !== 0) return fork();
  const groups = process.getgroups!();
  process.setgroups!([]);
  try {
    return fork();
  } finally {
    process.setgroups!(groups);
  }
}

function toEnvList(env: Record<string, string>): string[] {
  return Object.entries(env).map(([name, value]) => `${name}=${value}`);
}
