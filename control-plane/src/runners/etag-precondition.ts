import type { AgentClient } from "../agent-client/agent-client.js";
import { ControlPlaneError } from "../errors.js";

/**
 * Runs an agent call made with `ifMatch` and tells an etag mismatch apart from the other failed preconditions (a
 * directory in the way, …): when the call fails with FAILED_PRECONDITION and the file is missing or has another etag
 * now, the error becomes ETAG_MISMATCH, keeping the agent's message (which names both etags).
 */
export async function withEtagPrecondition<T>(agent: AgentClient, path: string, ifMatch: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (!ifMatch || !(error instanceof ControlPlaneError) || error.code !== "FAILED_PRECONDITION") throw error;
    const current = await agent.fs.stat(path).catch((statError: unknown) => {
      if (statError instanceof ControlPlaneError && statError.code === "NOT_FOUND") return undefined;
      throw error;
    });
    if (current?.etag === ifMatch) throw error;
    throw new ControlPlaneError("ETAG_MISMATCH", error.message, { cause: error });
  }
}
