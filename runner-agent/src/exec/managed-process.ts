import { AgentError } from "../errors.js";
import type { Logger } from "../log.js";
import type { OomKillCounter } from "./oom-kill-counter.js";
import { OutputLog } from "./output-log.js";
import type { ExitReasonName, ExitStatus, ProcessInfo } from "./process-info.js";
import type { LaunchSpec, ProcessIo, ProcessIoEvents } from "./process-io.js";
import type { SpillSegments } from "./spill-segments.js";

export type Launcher = (spec: LaunchSpec, events: ProcessIoEvents) => Promise<ProcessIo>;

export interface ManagedProcessOptions {
  id: string;
  command: string;
  user: string;
  timeoutMs: number;
  killGraceMs: number;
  output: { ringBytes: number; maxBytes: number; spill: SpillSegments | undefined; onSpilled?: () => void };
  oomKills: OomKillCounter;
  log: Logger;
  onEnded(process: ManagedProcess): void;
}

const INTERRUPT_STEPS: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGKILL"];
const STOP_STEPS: NodeJS.Signals[] = ["SIGTERM", "SIGKILL"];

/** One process the agent started: its I/O, its output log, its stop escalations and, once it ended, its exit. */
export class ManagedProcess {
  readonly output: OutputLog;
  readers = 0;
  private io: ProcessIo | undefined;
  private spec: LaunchSpec | undefined;
  /** Open until the manager closes it right after the start (no stdin_open) or a write closes it. */
  private stdinOpen = true;
  private stdinBytes = 0;
  private startedAtMs = Date.now();
  private endedAtMs: number | undefined;
  private exitStatus: ExitStatus | undefined;
  private stopCause: Extract<ExitReasonName, "timed_out" | "interrupted"> | undefined;
  private lifetimeTimer: NodeJS.Timeout | undefined;
  private escalationTimer: NodeJS.Timeout | undefined;
  private oomKillsAtStart: Promise<number | undefined> = Promise.resolve(undefined);

  constructor(private readonly options: ManagedProcessOptions) {
    this.output = new OutputLog({
      execId: options.id,
      ...options.output,
      log: options.log,
      onPressure: (paused) => (paused ? this.io?.pauseOutput() : this.io?.resumeOutput()),
    });
  }

  get id(): string {
    return this.options.id;
  }

  get exit(): ExitStatus | undefined {
    return this.exitStatus;
  }

  async launch(spec: LaunchSpec, launcher: Launcher): Promise<void> {
    this.spec = spec;
    this.oomKillsAtStart = this.options.oomKills();
    this.io = await launcher(spec, {
      onOutput: (stream, data) => this.output.append(stream, data),
      onExit: (code, signal) => void this.ended(code, signal),
    });
    this.startedAtMs = Date.now();
    if (this.options.timeoutMs > 0) {
      this.lifetimeTimer = setTimeout(
        () => this.escalate(STOP_STEPS, this.options.killGraceMs, "timed_out"),
        this.options.timeoutMs,
      );
    }
  }

  info(): ProcessInfo {
    return {
      id: this.id,
      pid: this.io?.pid ?? 0,
      state: this.exitStatus ? "exited" : "running",
      command: this.options.command,
      cwd: this.spec?.cwd ?? "",
      user: this.options.user,
      pty: this.spec?.terminal !== undefined,
      stdinOpen: this.stdinOpen && !this.exitStatus,
      exit: this.exitStatus,
      startedAtMs: this.startedAtMs,
      endedAtMs: this.endedAtMs,
      output: {
        endCursor: this.output.end,
        startCursor: this.output.start,
        memoryBytes: this.output.memoryBytes,
        spilledBytes: this.output.spilledBytes,
        readers: this.readers,
      },
    };
  }

  /** Writes to stdin (in call order) and optionally closes it; resolves with the bytes written so far. */
  async writeStdin(data: Buffer, close: boolean): Promise<number> {
    this.assertRunning("take input");
    if (!this.stdinOpen) {
      throw new AgentError(
        "FAILED_PRECONDITION",
        `Stdin of exec "${this.id}" is closed; start the process with stdin_open to write to it after it started.`,
      );
    }
    const io = this.io!;
    if (close) this.stdinOpen = false;
    const written = data.length > 0 ? io.write(data) : Promise.resolve();
    if (close) io.closeStdin();
    try {
      await written;
    } catch (error) {
      this.stdinOpen = false;
      throw new AgentError(
        "FAILED_PRECONDITION",
        `Exec "${this.id}" closed its stdin (${(error as NodeJS.ErrnoException).code ?? "closed"}); the data was not written.`,
        {
          cause: error,
        },
      );
    }
    this.stdinBytes += data.length;
    return this.stdinBytes;
  }

  signal(signal: NodeJS.Signals): void {
    this.assertRunning(`receive ${signal}`);
    this.signalGroup(signal);
  }

  /** SIGINT, then SIGTERM and SIGKILL `graceMs` apart while it keeps running; nothing when it already ended. */
  interrupt(graceMs: number): void {
    this.escalate(INTERRUPT_STEPS, graceMs, "interrupted");
  }

  /** SIGTERM, then SIGKILL after the grace period (the agent is shutting down). */
  stop(): void {
    this.escalate(STOP_STEPS, this.options.killGraceMs, undefined);
  }

  resize(rows: number, cols: number): void {
    this.assertRunning("be resized");
    if (!this.spec?.terminal)
      throw new AgentError(
        "FAILED_PRECONDITION",
        `Exec "${this.id}" has no terminal to resize; start it with pty set.`,
      );
    this.io!.resize(rows, cols);
  }

  private assertRunning(what: string): void {
    if (!this.exitStatus) return;
    throw new AgentError(
      "FAILED_PRECONDITION",
      `Exec "${this.id}" has already ended (${describeExit(this.exitStatus)}); it cannot ${what}.`,
    );
  }

  private escalate(steps: NodeJS.Signals[], graceMs: number, cause: ManagedProcess["stopCause"]): void {
    if (this.exitStatus || !this.io) return;
    this.stopCause ??= cause;
    if (this.escalationTimer) return;
    const step = (index: number): void => {
      this.signalGroup(steps[index]!);
      if (index + 1 < steps.length) this.escalationTimer = setTimeout(() => step(index + 1), graceMs);
    };
    step(0);
  }

  private signalGroup(signal: NodeJS.Signals): void {
    // Reaped: the group id may already name another process group.
    if (this.exitStatus) return;
    try {
      process.kill(-this.io!.pid, signal);
    } catch {
      // The group is already gone; the exit is on its way.
    }
  }

  /**
   * Runs when the child was reaped. Its pid, and so its process group id, may be reused by any later process: the exit
   * is recorded and the last group signal sent before the first await, so no signal can follow the reap later on.
   */
  private async ended(code: number | null, signal: NodeJS.Signals | null): Promise<void> {
    clearTimeout(this.lifetimeTimer);
    clearTimeout(this.escalationTimer);
    const durationMs = Date.now() - this.startedAtMs;
    // A stop that was asked for ends the whole group, stragglers in the background included.
    if (this.stopCause) this.signalGroup("SIGKILL");
    const reason: ExitReasonName = this.stopCause ?? (signal ? "signaled" : "exited");
    this.exitStatus = { reason, exitCode: signal ? undefined : (code ?? 0), signal: signal ?? undefined, durationMs };
    this.endedAtMs = Date.now();
    if (!this.stopCause && (signal === "SIGKILL" || code === 137) && (await this.wasOomKilled()))
      this.exitStatus = { ...this.exitStatus, reason: "oom_killed" };
    this.options.log.info({ exec: this.id, pid: this.io?.pid, ...this.exitStatus }, "process ended");
    this.output.close();
    this.options.onEnded(this);
  }

  private async wasOomKilled(): Promise<boolean> {
    const [before, after] = await Promise.all([this.oomKillsAtStart, this.options.oomKills()]);
    return before !== undefined && after !== undefined && after > before;
  }
}

/** "exited with code 0", "ended by SIGKILL", … for messages. */
export function describeExit(exit: ExitStatus): string {
  return exit.exitCode !== undefined ? `exited with code ${exit.exitCode}` : `ended by ${exit.signal}`;
}
