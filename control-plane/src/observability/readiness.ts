import type { Logger } from "../log.js";

/** One thing the control plane needs before it can serve: fails with an Error whose message says what is wrong. */
export interface ReadinessCheck {
  name: string;
  /** Observes state only: never pulls, creates or fills anything (an unauthenticated prober calls it). */
  check(): Promise<void>;
  /** What an operator does when this check fails (logged, never served). */
  hint: string;
}

/** What /readyz serves: ready or not, and which check failed; no errors or hints (they may name addresses or paths). */
export interface ReadinessReport {
  ready: boolean;
  checks: { name: string; ok: boolean }[];
}

export interface ReadinessOptions {
  /** One report is reused this long (and concurrent callers share a run). */
  cacheMs?: number;
  /** Where failing checks are logged, with their error and hint, when they start failing and when they pass again. */
  log?: Logger;
  now?: () => number;
}

/** How long a check may take before it counts as failed. */
const CHECK_TIMEOUT_MS = 3_000;

function withTimeout(work: Promise<void>, name: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the ${name} check did not answer within ${CHECK_TIMEOUT_MS} ms`)),
      CHECK_TIMEOUT_MS,
    );
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Runs the checks together and reports each; one report is reused for `cacheMs` (and concurrent callers share a
 * run), so a busy prober never turns readiness into load on Docker. `now` is the clock (tests pass their own).
 */
export function createReadiness(
  checks: ReadinessCheck[],
  options: ReadinessOptions = {},
): () => Promise<ReadinessReport> {
  const { cacheMs = 2_000, log, now = Date.now } = options;
  const failing = new Set<string>();
  let last: { report: Promise<ReadinessReport>; at: number } | undefined;
  const run = async (): Promise<ReadinessReport> => {
    const results = await Promise.all(
      checks.map(async ({ name, check, hint }) => {
        try {
          await withTimeout(Promise.resolve().then(check), name);
          if (failing.delete(name)) log?.info({ check: name }, "readiness check passes again");
          return { name, ok: true };
        } catch (error) {
          if (!failing.has(name))
            log?.warn(
              { check: name, error: error instanceof Error ? error.message : String(error), hint },
              "readiness check failed",
            );
          failing.add(name);
          return { name, ok: false };
        }
      }),
    );
    return { ready: results.every((result) => result.ok), checks: results };
  };
  return () => {
    if (!last || now() - last.at > cacheMs) last = { report: run(), at: now() };
    return last.report;
  };
}
