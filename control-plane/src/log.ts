import { pino, type Logger } from "pino";
import { currentRequestContext } from "./request-context.js";

export type { Logger };

/** The request a line was written for, so one request's lines (and the agent's, by the same id) can be found together. */
function requestFields(): { requestId?: string } {
  const context = currentRequestContext();
  return context ? { requestId: context.correlationId } : {};
}

/** Creates the control plane's JSON logger. Secrets are redacted wherever they could appear; lines written while serving a request carry its requestId. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = {
    level,
    base: { service: "control-plane" },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: requestFields,
    redact: { paths: ["token", "*.token", "authorization", "*.authorization", "headers.authorization"], censor: "[redacted]" },
  };
  return destination ? pino(options, destination) : pino(options);
}
