// `npm run bench`: every scenario of SPEC §8, DevHatchery and its peer side by side in one run, written to
// docs/benchmarks.md. `npm run bench -- --smoke` (or BENCH_SMOKE=1) is the small variant CI runs, written to a temp file.
// Usage: npm run bench [-- --smoke] [-- --only=<title words>]   (BENCH_OUTPUT=<markdown file>)
import { writeFile } from "node:fs/promises";
import Docker from "dockerode";
import { benchOptions } from "./bench-options.ts";
import { renderBenchReport, type ScenarioOutcome } from "./bench-report.ts";
import { describeMachine } from "./machine.ts";
import { closeOpenFixtures } from "./mcp-fixture.ts";
import type { Scenario } from "./scenario.ts";
import { aptCache } from "./scenarios/apt-cache.ts";
import { authOverhead } from "./scenarios/auth-overhead.ts";
import { execRoundTrip } from "./scenarios/exec-round-trip.ts";
import { fileTransfer } from "./scenarios/file-transfer.ts";
import { jobRoundTrip } from "./scenarios/job-round-trip.ts";
import { mcpSessions } from "./scenarios/mcp-sessions.ts";
import { memory } from "./scenarios/memory.ts";
import { resourceUpdates } from "./scenarios/resource-updates.ts";
import { spawnBurst } from "./scenarios/spawn-burst.ts";
import { spawnReady } from "./scenarios/spawn-ready.ts";
import { toolOverhead } from "./scenarios/tool-overhead.ts";
import { poolRefill, warmClaim } from "./scenarios/warm-claim.ts";

const SCENARIOS: Scenario[] = [
  execRoundTrip,
  toolOverhead,
  authOverhead,
  spawnReady,
  spawnBurst,
  warmClaim,
  poolRefill,
  jobRoundTrip,
  fileTransfer,
  aptCache,
  resourceUpdates,
  mcpSessions,
  memory,
];
// Past its budget a scenario stops at its next sample; this much more is allowed for the sample and the cleanup.
const GRACE_MS = 60_000;

async function runScenario(scenario: Scenario, options: ReturnType<typeof benchOptions>): Promise<ScenarioOutcome> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const overdue = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`did not finish within ${(options.scenarioBudgetMs + GRACE_MS) / 1000} s`)),
        options.scenarioBudgetMs + GRACE_MS,
      );
    });
    const report = await Promise.race([scenario.run(options, AbortSignal.timeout(options.scenarioBudgetMs)), overdue]);
    return { title: scenario.title, durationMs: performance.now() - started, report };
  } catch (error) {
    const message =
      error instanceof Error && error.name === "TimeoutError"
        ? `time budget of ${options.scenarioBudgetMs / 1000} s spent`
        : String((error as Error).message ?? error);
    return { title: scenario.title, durationMs: performance.now() - started, error: message };
  } finally {
    clearTimeout(timer);
  }
}

async function main(): Promise<void> {
  const options = benchOptions(process.argv.slice(2), process.env);
  const only = process.argv
    .find((arg) => arg.startsWith("--only="))
    ?.slice("--only=".length)
    .toLowerCase();
  const selected = SCENARIOS.filter((scenario) => !only || scenario.title.toLowerCase().includes(only));
  const machine = describeMachine((await new Docker().version()).Version);
  const outcomes: ScenarioOutcome[] = [];
  try {
    for (const scenario of selected) {
      process.stderr.write(`bench: ${scenario.title} …\n`);
      const outcome = await runScenario(scenario, options);
      process.stderr.write(
        `bench: ${scenario.title}: ${outcome.error ? `FAILED: ${outcome.error}` : "done"} (${(outcome.durationMs / 1000).toFixed(1)} s)\n`,
      );
      outcomes.push(outcome);
    }
  } finally {
    await closeOpenFixtures();
  }
  const text = renderBenchReport(
    {
      command: options.command,
      machine,
      date: new Date().toISOString().slice(0, 16).replace("T", " ") + " UTC",
      smoke: options.smoke,
    },
    outcomes,
  );
  await writeFile(options.output, text);
  process.stdout.write(`${text}\nbench: wrote ${options.output}\n`);
  if (outcomes.some((outcome) => outcome.error)) process.exit(1);
}

main().catch(async (error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  await closeOpenFixtures();
  process.exit(1);
});
