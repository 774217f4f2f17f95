import { tmpdir } from "node:os";
import { join } from "node:path";

/** Sizes and counts of one `npm run bench` run: the full run, or the smoke variant CI runs so the benches never rot. */
export interface BenchOptions {
  smoke: boolean;
  /** Where the report goes: docs/benchmarks.md, or a temp file for the smoke run. */
  output: string;
  /** The command that produced the report, as written into it. */
  command: string;
  execSamples: number;
  statSamples: number;
  spawnSamples: number;
  /** Spawns in the burst scenario, and how many run at once. */
  burstSpawns: number;
  burstConcurrency: number;
  /** Warm claims (and as many cold spawns and `docker run -d`) in the warm claim scenario. */
  warmClaims: number;
  /** Claims in the pool refill burst, `burstConcurrency` at a time; the pool's min is this many. */
  refillClaims: number;
  /** Runs of each path (`job_run`, `docker run --rm`, spawn + exec + remove) in the job round trip scenario. */
  jobSamples: number;
  fileMb: number;
  fileSamples: number;
  updateSamples: number;
  sessionCounts: number[];
  sessionLines: number;
  memoryRunners: number;
  /** Pairs of installs (first runner, second runner, each on a fresh control plane) in the apt cache scenario. */
  aptSamples: number;
  /** Upper bound of one scenario's run; a scenario past it fails and the next one runs. */
  scenarioBudgetMs: number;
}

export function benchOptions(argv: string[], env: NodeJS.ProcessEnv): BenchOptions {
  const smoke = argv.includes("--smoke") || env.BENCH_SMOKE === "1";
  const common = { smoke, command: smoke ? "npm run bench -- --smoke" : "npm run bench" };
  if (smoke) {
    return {
      ...common,
      output: env.BENCH_OUTPUT ?? join(tmpdir(), `devhatchery-bench-smoke-${process.pid}.md`),
      execSamples: 10,
      statSamples: 10,
      spawnSamples: 2,
      burstSpawns: 6,
      burstConcurrency: 3,
      warmClaims: 3,
      refillClaims: 5,
      jobSamples: 1,
      fileMb: 4,
      fileSamples: 1,
      updateSamples: 3,
      sessionCounts: [10],
      sessionLines: 200,
      memoryRunners: 5,
      aptSamples: 1,
      scenarioBudgetMs: 60_000,
    };
  }
  return {
    ...common,
    output: env.BENCH_OUTPUT ?? "docs/benchmarks.md",
    execSamples: 200,
    statSamples: 300,
    spawnSamples: 10,
    burstSpawns: 50,
    burstConcurrency: 5,
    warmClaims: 50,
    refillClaims: 20,
    jobSamples: 15,
    fileMb: 100,
    fileSamples: 5,
    updateSamples: 30,
    sessionCounts: [10, 50, 100],
    sessionLines: 2000,
    memoryRunners: 50,
    aptSamples: 5,
    scenarioBudgetMs: 600_000,
  };
}
