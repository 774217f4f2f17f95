import { writeFileSync } from "node:fs";

/**
 * What processes the agent starts get as oom_score_adj: the most likely to be killed when the runner runs out of
 * memory, so the kernel picks them (and all they fork later), not the agent, which keeps the value it started with.
 */
export const CHILD_OOM_SCORE_ADJ = 1000;

/**
 * Raises a process's oom_score_adj right after it was started (raising needs no privilege; the agent writes as root
 * or as the process's own user). The agent never raises its own score around the fork instead: a fork under memory
 * pressure can wait in reclaim, and the OOM killer would then find the agent at the raised score. What the process
 * forks in the microseconds before the write keeps the default score. Best effort: without /proc nothing changes.
 */
export function markLikelyOomVictim(pid: number): void {
  try {
    writeFileSync(`/proc/${pid}/oom_score_adj`, `${CHILD_OOM_SCORE_ADJ}\n`);
  } catch {
    // No /proc, or a process of another user the agent may not write for: it keeps the agent's score.
  }
}
