/** Summary statistics of a list of samples (milliseconds or any unit). */
export interface Summary {
  n: number;
  p50: number;
  p95: number;
  mean: number;
  min: number;
  max: number;
}

function percentile(sorted: number[], fraction: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[index]!;
}

export function summarize(samples: number[]): Summary {
  const sorted = [...samples].sort((a, b) => a - b);
  const sum = sorted.reduce((total, value) => total + value, 0);
  return {
    n: sorted.length,
    p50: percentile(sorted, 0.5),
    p95: percentile(sorted, 0.95),
    mean: sum / Math.max(1, sorted.length),
    min: sorted[0] ?? Number.NaN,
    max: sorted.at(-1) ?? Number.NaN,
  };
}

/**
 * Runs `work` `warmup` times unmeasured, then `samples` times, returning the durations in ms. An aborted `signal`
 * stops it before the next run (the scenario's time budget is spent).
 */
export async function measure(
  work: () => Promise<unknown>,
  options: { warmup: number; samples: number; signal?: AbortSignal },
): Promise<number[]> {
  for (let i = 0; i < options.warmup; i++) {
    options.signal?.throwIfAborted();
    await work();
  }
  const durations: number[] = [];
  for (let i = 0; i < options.samples; i++) {
    options.signal?.throwIfAborted();
    const started = process.hrtime.bigint();
    await work();
    durations.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  return durations;
}

export function formatMs(value: number): string {
  return value < 10 ? value.toFixed(2) : value.toFixed(1);
}
