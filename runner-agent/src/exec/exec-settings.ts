/** Limits and defaults of the exec service; config.ts fills them from the environment. */
export interface ExecSettings {
  /** Directory for output spill files, owned by this agent and emptied at start; undefined: a private temporary one. */
  spillDir: string | undefined;
  /** Newest output kept in memory per process (live readers are served from it); older output goes to disk. */
  ringBytes: number;
  /** Output kept per process; past it the oldest output is dropped (readers are told how much). */
  maxOutputBytes: number;
  /**
   * Spilled output of all processes together; past it the oldest finished process's oldest output goes first, then
   * the oldest output of the running process holding the most (readers are told how much).
   */
  outputBudgetBytes: number;
  /** How long a finished process stays readable. */
  retainMs: number;
  /** How many finished processes stay readable; the oldest-ended are reaped first. */
  retainCount: number;
  /** Default grace between the steps of a stop escalation (timeout, interrupt). */
  killGraceMs: number;
  /** Default quiet time after which a following stream gets a keepalive. */
  keepaliveMs: number;
}

const MIB = 1024 * 1024;

export const DEFAULT_EXEC_SETTINGS: ExecSettings = {
  spillDir: undefined,
  ringBytes: 1 * MIB,
  maxOutputBytes: 256 * MIB,
  outputBudgetBytes: 1024 * MIB,
  retainMs: 30 * 60 * 1000,
  retainCount: 64,
  killGraceMs: 2_000,
  keepaliveMs: 15_000,
};

/** The cap must leave room for several spill segments and the in-memory ring, or dropping could not keep up. */
export const MIN_OUTPUT_TO_RING_RATIO = 4;
