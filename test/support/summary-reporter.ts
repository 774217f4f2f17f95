import type { Reporter, TestModule } from "vitest/node";

/**
 * Prints one plain closing line, `tests: N passed, N failed, N skipped`, with a per-project count above it,
 * so CI logs show how many tests of each tier really ran.
 */
export default class SummaryReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const totals = { passed: 0, failed: 0, skipped: 0 };
    const perProject = new Map<string, number>();
    for (const module of testModules) {
      for (const test of module.children.allTests()) {
        const state = test.result().state;
        if (state === "passed") totals.passed++;
        else if (state === "failed") totals.failed++;
        else totals.skipped++;
        if (state === "passed") perProject.set(module.project.name, (perProject.get(module.project.name) ?? 0) + 1);
      }
    }
    const projects = [...perProject].map(([name, count]) => `${name} ${count}`).join(", ");
    process.stdout.write(
      `\npassed per tier: ${projects || "none"}\ntests: ${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped\n`,
    );
  }
}
