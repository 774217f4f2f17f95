import { AGENT_DEFAULT_DEBUG_PORT } from "@devhatchery/proto/contract";
import { ControlPlaneError } from "../errors.js";

/** The most of an agent's debug answer the control plane reads: a real snapshot is a few KiB to a few hundred. */
export const DEBUG_ANSWER_MAX_BYTES = 1024 * 1024;

const DEBUG_TIMEOUT_MS = 5_000;

export interface AgentDebugOptions {
  /** The agent's debug port (tests point it at a stand-in). */
  port?: number;
  maxBytes?: number;
}

/** The body of `response`, refusing (and cancelling the read) as soon as it passes `maxBytes`. */
async function readCapped(response: Response, maxBytes: number, runnerId: string): Promise<string> {
  const tooLarge = (): ControlPlaneError =>
    new ControlPlaneError(
      "RESOURCE_EXHAUSTED",
      `Runner "${runnerId}" answered its debug view with more than ${maxBytes} bytes, the most the control plane reads; ` +
        "its agent is not a DevHatchery agent answering normally. Remove the runner with runner_remove and spawn a new one.",
    );
  if (Number(response.headers.get("content-length") ?? 0) > maxBytes) {
    await response.body?.cancel();
    throw tooLarge();
  }
  const reader = response.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let received = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    received += value.byteLength;
    if (received > maxBytes) {
      await reader.cancel();
      throw tooLarge();
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * Fetches a runner agent's read-only debug snapshot (`/debug.json`) with the runner's token and parses it. The
 * answer is untrusted (a root user in the runner can replace the agent): it is read up to a cap and returned as
 * plain JSON data, never relayed as a page.
 */
export async function fetchAgentDebug(
  host: string,
  token: string,
  runnerId: string,
  options: AgentDebugOptions = {},
): Promise<unknown> {
  const port = options.port ?? AGENT_DEFAULT_DEBUG_PORT;
  let response: Response;
  try {
    response = await fetch(`http://${host}:${port}/debug.json`, {
      headers: { authorization: `Bearer ${token}`, accept: "application/json" },
      signal: AbortSignal.timeout(DEBUG_TIMEOUT_MS),
    });
  } catch (error) {
    throw new ControlPlaneError(
      "RUNNER_UNAVAILABLE",
      `Runner "${runnerId}" did not answer on its debug port; its agent may be stopped or older than the debug endpoint. Check it with runner_list.`,
      { cause: error },
    );
  }
  const body = await readCapped(response, options.maxBytes ?? DEBUG_ANSWER_MAX_BYTES, runnerId);
  if (response.status !== 200) {
    throw new ControlPlaneError(
      "FAILED_PRECONDITION",
      `Runner "${runnerId}" refused its debug view (HTTP ${response.status}); remove it with runner_remove and spawn a new one.`,
    );
  }
  try {
    return JSON.parse(body) as unknown;
  } catch (error) {
    throw new ControlPlaneError(
      "FAILED_PRECONDITION",
      `Runner "${runnerId}" answered its debug view with something that is not JSON; remove it with runner_remove and spawn a new one.`,
      {
        cause: error,
      },
    );
  }
}
