import { z } from "zod";
import type { ToolDeps } from "./tool-deps.js";

/** The runner a tool call acts on: the `runner` argument as the caller passed it, and the runner id it names. */
export interface CanonicalRunner {
  ref: string;
  id: string;
}

/** The `runner_id` field of the results of tools that take a `runner` argument. */
export const runnerIdOutput = z.string().describe("The runner's id, also when you passed an alias or workspace key.");

/**
 * Resolves `ref` (id, alias or workspace key) to the ready runner it names, failing as the tool would (NOT_FOUND,
 * RUNNER_UNAVAILABLE). It goes through the agent connection the call needs anyway, so the service call that
 * follows with the id costs no second lookup; relative paths then resolve against the roots of that id.
 */
export async function canonicalRunner(deps: ToolDeps, ref: string): Promise<CanonicalRunner> {
  const agent = await deps.runners.connect(deps.principal, ref);
  return { ref, id: agent.runnerId };
}

/** `text` with a first line naming the runner id when the caller named the runner by alias or workspace key. */
export function withRunnerNote(runner: CanonicalRunner, text: string): string {
  return runner.ref === runner.id ? text : `[runner "${runner.ref}" is ${runner.id}]\n${text}`;
}
