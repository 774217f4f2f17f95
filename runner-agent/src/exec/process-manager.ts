import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { AgentError, fromSystemError } from "../errors.js";
import type { Logger } from "../log.js";
import { createChildEnv } from "./child-env.js";
import { summarizeCommand, toCommandLine } from "./command-line.js";
import { DEFAULT_EXEC_SETTINGS, type ExecSettings } from "./exec-settings.js";
import { ManagedProcess } from "./managed-process.js";
import { createOomKillCounter, type OomKillCounter } from "./oom-kill-counter.js";
import { launchPipeProcess } from "./pipe-process.js";
import type { ProcessInfo } from "./process-info.js";
import { launchPtyProcess } from "./pty-process.js";
import { resolveRunAsUser } from "./run-as-user.js";
import { assertSpawnable } from "./spawn-arguments.js";
import { SpillSegments } from "./spill-segments.js";

/** A request to start a process, as plain values (the gRPC adapter fills it). */
export interface StartSpec {
  argv: string[];
  shell: string;
  cwd: string;
  env: Record<string, string>;
  timeoutMs: number;
  user: string;
  stdin: Buffer;
  stdinOpen: boolean;
  terminal: { rows: number; cols: number } | undefined;
  killGraceMs: number;
}

const EXEC_DIR_PREFIX = "ex_";
const DEFAULT_TERMINAL = { rows: 24, cols: 80 };
const MAX_TERMINAL_SIDE = 10_000;

/**
 * Starts processes and keeps them, running and finished, until they are reaped: a finished process stays readable
 * for `retainMs`, and at most `retainCount` finished ones are kept (the oldest-ended go first).
 */
export class ProcessManager {
  private readonly processes = new Map<string, ManagedProcess>();
  private readonly finished: ManagedProcess[] = [];
  private readonly settings: ExecSettings;
  private readonly oomKills: OomKillCounter;
  private spillDir = "";
  private ownsSpillDir = false;

  private readonly baseEnv: Record<string, string>;

  constructor(
    private readonly workDir: string,
    private readonly log: Logger,
    settings: Partial<ExecSettings> = {},
    oomKills: OomKillCounter = createOomKillCounter(),
  ) {
    this.settings = { ...DEFAULT_EXEC_SETTINGS, ...settings };
    this.oomKills = oomKills;
    // Read once: process.env is slow to enumerate, and the agent's own environment does not change.
    this.baseEnv = createChildEnv(process.env, {});
  }

  get keepaliveMs(): number {
    return this.settings.keepaliveMs;
  }

  get killGraceMs(): number {
    return this.settings.killGraceMs;
  }

  /** Running processes. */
  get size(): number {
    return this.processes.size - this.finished.length;
  }

  /**
   * Prepares the spill directory: the configured one (emptied of old spill files), else a private temporary one; when
   * neither can be written, output stays in memory only (capped at the ring size) and a warning says so.
   */
  async init(): Promise<void> {
    const configured = this.settings.spillDir;
    if (configured) {
      try {
        await mkdir(configured, { recursive: true, mode: 0o700 });
        for (const entry of await readdir(configured)) {
          if (entry.startsWith(EXEC_DIR_PREFIX)) await rm(join(configured, entry), { recursive: true, force: true });
        }
        this.spillDir = configured;
        return;
      } catch (error) {
        this.log.warn(
          { err: error, spillDir: configured },
          "cannot use the exec spill directory; trying a temporary one",
        );
      }
    }
    try {
      this.spillDir = await mkdtemp(join(tmpdir(), "devhatchery-exec-"));
      this.ownsSpillDir = true;
    } catch (error) {
      this.log.warn(
        { err: error },
        "no writable spill directory; process output beyond the in-memory ring will be dropped",
      );
    }
  }

  async start(spec: StartSpec): Promise<ManagedProcess> {
    const argv = toCommandLine(spec.argv, spec.shell);
    const cwd = resolve(this.workDir, spec.cwd || ".");
    await assertDirectory(cwd);
    const user = spec.user ? await resolveRunAsUser(spec.user) : undefined;
    const terminal = spec.terminal
      ? validTerminal(spec.terminal.rows || DEFAULT_TERMINAL.rows, spec.terminal.cols || DEFAULT_TERMINAL.cols)
      : undefined;
    const personal = user
      ? { ...(user.home ? { HOME: user.home } : {}), ...(user.name ? { USER: user.name, LOGNAME: user.name } : {}) }
      : {};
    const env = createChildEnv(this.baseEnv, {
      ...(terminal ? { TERM: "xterm-256color" } : {}),
      ...personal,
      ...spec.env,
    });
    assertSpawnable(argv, env);
    const id = `${EXEC_DIR_PREFIX}${randomBytes(8).toString("hex")}`;
    const { ringBytes, maxOutputBytes, killGraceMs } = this.settings;
    const managed = new ManagedProcess({
      id,
      command: summarizeCommand(spec.argv, spec.shell),
      user: spec.user,
      timeoutMs: spec.timeoutMs,
      killGraceMs: spec.killGraceMs || killGraceMs,
      output: {
        ringBytes,
        maxBytes: maxOutputBytes,
        spill: this.spillDir ? new SpillSegments(join(this.spillDir, id), segmentBytes(maxOutputBytes)) : undefined,
        onSpilled: () => this.applyOutputBudget(),
      },
      oomKills: this.oomKills,
      log: this.log,
      onEnded: (ended) => this.retain(ended),
    });
    // Registered before it runs, so that however soon it ends, retention finds it.
    this.processes.set(id, managed);
    try {
      await managed.launch(
        { argv, cwd, env, uid: user?.uid, gid: user?.gid, terminal },
        terminal ? launchPtyProcess : launchPipeProcess,
      );
    } catch (error) {
      this.processes.delete(id);
      await managed.output.destroy();
      throw error;
    }
    this.log.info(
      {
        exec: id,
        pid: managed.info().pid,
        argv0: argv[0],
        cwd,
        user: spec.user || undefined,
        pty: terminal !== undefined,
      },
      "process started",
    );
    // A terminal has no end of file to give; its stdin stays open whatever stdin_open says.
    const closeStdin = !spec.stdinOpen && !terminal;
    if (spec.stdin.length > 0 || closeStdin) {
      // Issued now, ahead of any WriteStdin, but not awaited: the start does not wait for the program to read it
      // (and a program may exit without reading it at all).
      managed.writeStdin(spec.stdin, closeStdin).catch(() => undefined);
    }
    return managed;
  }

  get(id: string): ManagedProcess {
    const managed = this.processes.get(id);
    if (!managed) {
      throw new AgentError(
        "NOT_FOUND",
        `Exec "${id}" not found: no such process, or it ended long enough ago to be reaped (finished processes are kept ${Math.round(this.settings.retainMs / 1000)} s, at most ${this.settings.retainCount}); list processes with List.`,
      );
    }
    return managed;
  }

  /** Running processes first, then finished ones, each by start time. */
  list(): ProcessInfo[] {
    const infos = [...this.processes.values()].map((managed) => managed.info());
    return infos.sort((a, b) => (a.state === b.state ? a.startedAtMs - b.startedAtMs : a.state === "running" ? -1 : 1));
  }

  async remove(id: string): Promise<void> {
    const managed = this.get(id);
    if (!managed.exit)
      throw new AgentError(
        "FAILED_PRECONDITION",
        `Exec "${id}" is still running; end it with Signal or Interrupt first, then remove it.`,
      );
    await this.reap(managed);
  }

  /** Stops every running process (SIGTERM, then SIGKILL after the grace), waits for them, and deletes all output. */
  async shutdown(): Promise<void> {
    const running = [...this.processes.values()].filter((managed) => !managed.exit);
    for (const managed of running) managed.stop();
    const deadline = Date.now() + this.settings.killGraceMs + 1_000;
    while (running.some((managed) => !managed.exit) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 20));
    await Promise.all([...this.processes.values()].map((managed) => this.reap(managed)));
    if (this.ownsSpillDir) await rm(this.spillDir, { recursive: true, force: true });
  }

  /**
   * Keeps the spill of all processes within the budget: the oldest-ended finished process gives up its oldest output
   * first, then the running process holding the most (never its newest segment).
   */
  private applyOutputBudget(): void {
    const all = [...this.processes.values()];
    let total = all.reduce((sum, managed) => sum + managed.output.spilledBytes, 0);
    while (total > this.settings.outputBudgetBytes) {
      const running = all
        .filter((managed) => !managed.exit)
        .sort((a, b) => b.output.spilledBytes - a.output.spilledBytes);
      let freed = 0;
      for (const victim of [...this.finished, ...running]) {
        freed = victim.output.dropOldestSpill();
        if (freed > 0) break;
      }
      if (freed === 0) return;
      total -= freed;
    }
  }

  private retain(managed: ManagedProcess): void {
    if (!this.processes.has(managed.id)) return;
    this.finished.push(managed);
    setTimeout(() => void this.reap(managed), this.settings.retainMs).unref();
    while (this.finished.length > this.settings.retainCount) void this.reap(this.finished[0]!);
  }

  private async reap(managed: ManagedProcess): Promise<void> {
    if (!this.processes.delete(managed.id)) return;
    const index = this.finished.indexOf(managed);
    if (index >= 0) this.finished.splice(index, 1);
    await managed.output.destroy();
  }
}

/** Several segments per log, so dropping the oldest one keeps most of the cap. */
function segmentBytes(maxOutputBytes: number): number {
  return Math.max(64 * 1024, Math.floor(maxOutputBytes / 8));
}

function validTerminal(rows: number, cols: number): { rows: number; cols: number } {
  if (rows > MAX_TERMINAL_SIDE || cols > MAX_TERMINAL_SIDE) {
    throw new AgentError(
      "INVALID_ARGUMENT",
      `Terminal size ${rows}x${cols} is too large; rows and cols must be at most ${MAX_TERMINAL_SIDE}.`,
    );
  }
  return { rows, cols };
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
