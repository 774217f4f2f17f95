import { pino, type Logger } from "pino";
import { currentCorrelationId } from "./call-context.js";

export type { Logger };

/** Lines written while serving a call carry the control plane's request id (the same field name as its own log). */
function callFields(): { requestId?: string } {
  const correlationId = currentCorrelationId();
  return correlationId ? { requestId: correlationId } : {};
}

/** Creates the agent's JSON logger; it writes to stdout so `docker logs` shows it. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, base: { service: "runner-agent" }, timestamp: pino.stdTimeFunctions.isoTime, mixin: callFields };
  return destination ? pino(options, destination) : pino(options);
}
