import { formatMs, type Summary } from "./stats.ts";

/** One row of a latency table; `reference` is what the ratio divides by (omitted: the row is the reference). */
export interface LatencyRow {
  path: string;
  summary: Summary;
  reference?: Summary;
}

/** `| path | n | p50 | p95 | ratio |` in ms, ratio = this p50 ÷ the reference p50 (lower is better). */
export function latencyTable(rows: LatencyRow[], ratioHeader: string): string[] {
  return [
    `| path | n | p50 (ms) | p95 (ms) | ${ratioHeader} |`,
    "|---|---|---|---|---|",
    ...rows.map(
      ({ path, summary, reference }) =>
        `| ${path} | ${summary.n} | ${formatMs(summary.p50)} | ${formatMs(summary.p95)} | ${reference ? ratio(summary.p50, reference.p50) : "1×"} |`,
    ),
  ];
}

export function ratio(value: number, reference: number): string {
  return `${(value / reference).toFixed(2)}×`;
}

export function verdict(met: boolean): string {
  return met ? "met" : "**missed**";
}
