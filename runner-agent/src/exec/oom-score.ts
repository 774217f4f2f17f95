import { readFileSync, writeFileSync } from "node:fs";

/**
 * What processes the agent starts get as oom_score_adj: the most likely to be killed when the runner runs out of
 * memory, so the kernel picks them, not the agent, which keeps the value it started with.
 */
export const CHILD_OOM_SCORE_ADJ = 1000;
const SELF = "/proc/self/oom_score_adj";

let agentScore: number | undefined | null = null;

/**
 * Runs a synchronous spawn (fork + exec) with the agent's own oom_score_adj raised, so the child inherits the raised
 * value from its first instruction on (a fork storm's processes included), then lowers it again. Raising needs no
 * privilege and lowering back down to the start value is allowed too (the kernel keeps the floor a privileged writer
 * set); the round trip is tried once, and where /proc or the floor do not allow it the spawn just runs.
 */
export function spawnLikelyOomVictim<T>(spawn: () => T): T {
  if (agentScore === null) agentScore = probeRoundTrip();
  if (agentScore === undefined) return spawn();
  writeScore(CHILD_OOM_SCORE_ADJ);
  try {
    return spawn();
  } finally {
    writeScore(agentScore);
  }
}

/** The agent's start value when it can raise its score and lower it back, else undefined. */
function probeRoundTrip(): number | undefined {
  try {
    const start = Number(readFileSync(SELF, "utf8").trim());
    if (!Number.isInteger(start) || start >= CHILD_OOM_SCORE_ADJ) return undefined;
    writeScore(CHILD_OOM_SCORE_ADJ);
    writeScore(start);
    return Number(readFileSync(SELF, "utf8").trim()) === start ? start : undefined;
  } catch {
    return undefined;
  }
}

function writeScore(value: number): void {
  writeFileSync(SELF, `${value}\n`);
}
