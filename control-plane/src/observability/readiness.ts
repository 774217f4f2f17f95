/** One thing the control plane needs before it can serve: fails with an Error whose message says what is wrong. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
  /** What an operator does when this check fails. */
  hint: string;
}

export interface ReadinessReport {
  ready: boolean;
  checks: { name: string; ok: boolean; error?: string; hint?: string }[];
}

/** How long a check may take before it counts as failed. */
const CHECK_TIMEOUT_MS = 3_000;

function withTimeout(work: Promise<void>, name: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`the ${name} check did not answer within ${CHECK_TIMEOUT_MS} ms`)), CHECK_TIMEOUT_MS);
  });
  return Promise.race([work, timeout]).finally(() => clearTimeout(timer));
}

/**
 * Runs the checks together and reports each; one report is reused for `cacheMs` (and concurrent callers share a
 * run), so a busy prober never turns readiness into load on Docker. `now` is the clock (tests pass their own).
 */
export function createReadiness(checks: ReadinessCheck[], cacheMs = 2_000, now: () => number = Date.now): () => Promise<ReadinessReport> {
  let last: { report: Promise<ReadinessReport>; at: number } | undefined;
  const run = async (): Promise<ReadinessReport> => {
    const results = await Promise.all(
      checks.map(async ({ name, check, hint }) => {
        try {
          await withTimeout(Promise.resolve().then(check), name);
          return { name, ok: true };
        } catch (error) {
          return { name, ok: false, error: error instanceof Error ? error.message : String(error), hint };
        }
      }),
    );
    return { ready: results.every((result) => result.ok), checks: results };
  };
  return () => {
    const at = now();
    if (!last || at - last.at > cacheMs) last = { report: run(), at };
    return last.report;
  };
}
