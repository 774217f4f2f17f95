import { pino, type Logger } from "pino";

export type { Logger };

/** Creates the agent's JSON logger; it writes to stdout so `docker logs` shows it. */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, base: { service: "runner-agent" }, timestamp: pino.stdTimeFunctions.isoTime };
  return destination ? pino(options, destination) : pino(options);
}
