import { AGENT_DEFAULT_DEBUG_PORT } from "@devhatchery/proto/contract";
import { ControlPlaneError } from "../errors.js";

export type DebugFormat = "json" | "html";

/** The agent's debug view as it answered: status, content type and body. */
export interface AgentDebugView {
  status: number;
  contentType: string;
  body: string;
}

const DEBUG_TIMEOUT_MS = 5_000;

/** Fetches a runner agent's read-only debug view (`/debug.json` or the HTML page) with the runner's token. */
export async function fetchAgentDebug(host: string, token: string, format: DebugFormat, runnerId: string): Promise<AgentDebugView> {
  const path = format === "html" ? "/debug" : "/debug.json";
  try {
    const response = await fetch(`http://${host}:${AGENT_DEFAULT_DEBUG_PORT}${path}`, {
      headers: { authorization: `Bearer ${token}`, accept: format === "html" ? "text/html" : "application/json" },
      signal: AbortSignal.timeout(DEBUG_TIMEOUT_MS),
    });
    return { status: response.status, contentType: response.headers.get("content-type") ?? "application/octet-stream", body: await response.text() };
  } catch (error) {
    throw new ControlPlaneError(
      "RUNNER_UNAVAILABLE",
      `Runner "${runnerId}" did not answer on its debug port ${AGENT_DEFAULT_DEBUG_PORT} (${(error as Error).message}); its agent may be older than the debug endpoint or stopped.`,
      { cause: error },
    );
  }
}
