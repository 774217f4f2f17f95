import { spawn } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** The conformance package's bin script, run with the test runner's own Node (24). */
const CONFORMANCE_BIN = fileURLToPath(
  new URL("../../node_modules/@modelcontextprotocol/conformance/dist/index.js", import.meta.url),
);

export interface ConformanceCheck {
  id: string;
  status: "SUCCESS" | "FAILURE" | "WARNING" | "INFO" | "SKIPPED";
  errorMessage?: string;
}

/** One `conformance server` run: the exit code and, per scenario, the checks it wrote. */
export interface ConformanceRun {
  exitCode: number | null;
  output: string;
  scenarios: Map<string, ConformanceCheck[]>;
}

/**
 * Runs `@modelcontextprotocol/conformance server` against `url` (the active suite, or one scenario) and reads
 * every scenario's checks.json from its output directory, which it then removes.
 */
export async function runConformance(url: string, scenario?: string): Promise<ConformanceRun> {
  const outputDir = await mkdtemp(join(tmpdir(), "devhatchery-conformance-"));
  try {
    const args = [
      CONFORMANCE_BIN,
      "server",
      "--url",
      url,
      "--output-dir",
      outputDir,
      ...(scenario ? ["--scenario", scenario] : []),
    ];
    const child = spawn(process.execPath, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", NO_COLOR: "1" },
    });
    let output = "";
    child.stdout.on("data", (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on("data", (chunk: Buffer) => (output += chunk.toString()));
    const exitCode = await new Promise<number | null>((resolve) => {
      const timer = setTimeout(() => child.kill("SIGKILL"), 150_000);
      child.once("exit", (code) => {
        clearTimeout(timer);
        resolve(code);
      });
    });
    const scenarios = new Map<string, ConformanceCheck[]>();
    for (const entry of await readdir(outputDir)) {
      // Directories are named server-<scenario>-<ISO timestamp>.
      const name = /^server-(.+)-\d{4}-\d\d-\d\dT/.exec(entry)?.[1];
      if (!name) continue;
      scenarios.set(
        name,
        JSON.parse(await readFile(join(outputDir, entry, "checks.json"), "utf8")) as ConformanceCheck[],
      );
    }
    return { exitCode, output, scenarios };
  } finally {
    await rm(outputDir, { recursive: true, force: true });
  }
}

/** The scenario's failed checks as readable lines (empty when it passed). */
export function failuresOf(checks: ConformanceCheck[]): string[] {
  return checks
    .filter((check) => check.status === "FAILURE")
    .map((check) => `${check.id}: ${check.errorMessage ?? "failed"}`);
}
