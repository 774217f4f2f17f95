/** Runs `count` jobs, `concurrency` at a time; returns each one's duration (ms) and the wall time of all of them. */
export async function burst(
  count: number,
  concurrency: number,
  job: () => Promise<void>,
  signal: AbortSignal,
): Promise<{ each: number[]; wallMs: number }> {
  const each: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count) {
        next += 1;
        signal.throwIfAborted();
        const at = performance.now();
        await job();
        each.push(performance.now() - at);
      }
    }),
  );
  return { each, wallMs: performance.now() - started };
}
