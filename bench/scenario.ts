import type { BenchOptions } from "./bench-options.ts";

/** One SPEC §8 goal as measured: `met` is undefined when the figure has no goal to meet. */
export interface GoalResult {
  what: string;
  goal: string;
  measured: string;
  met: boolean;
}

/** What a scenario contributes to docs/benchmarks.md: its section's lines and the goals it checked. */
export interface ScenarioReport {
  lines: string[];
  goals: GoalResult[];
}

/** A benchmark scenario: measures DevHatchery and its peer in one run and cleans up everything it made. */
export interface Scenario {
  title: string;
  /** `signal` aborts when the scenario's time budget is spent; measuring loops stop at the next sample. */
  run(options: BenchOptions, signal: AbortSignal): Promise<ScenarioReport>;
}
