// N concurrent MCP sessions each streaming one exec's output as progress notifications, against the real
// control plane process and one real runner: throughput, time to first notification, and bytes lost (must be 0).
// The scenario is part of `npm run bench`; this runs it alone.
// Usage: npm run bench:sessions   (BENCH_SESSIONS="10,50,100", BENCH_LINES=<lines per exec>, BENCH_IMAGE, BENCH_OUTPUT)
import Docker from "dockerode";
import { benchOptions } from "./bench-options.ts";
import { describeMachine } from "./machine.ts";
import { writeBenchSection } from "./report.ts";
import { mcpSessions } from "./scenarios/mcp-sessions.ts";

async function main(): Promise<void> {
  const defaults = benchOptions([], {});
  const options = {
    ...defaults,
    output: process.env.BENCH_OUTPUT ?? defaults.output,
    sessionCounts: (process.env.BENCH_SESSIONS ?? defaults.sessionCounts.join(",")).split(",").map(Number),
    sessionLines: Number(process.env.BENCH_LINES ?? defaults.sessionLines),
  };
  const report = await mcpSessions.run(options, AbortSignal.timeout(options.scenarioBudgetMs));
  const version = (await new Docker().version()).Version;
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} on ${describeMachine(version)}.`,
    "",
    ...report.lines,
  ];
  await writeBenchSection(options.output, mcpSessions.title, "npm run bench:sessions", lines);
  process.stdout.write(`${lines.join("\n")}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
