import { constants } from "node:os";
import { AgentError } from "../errors.js";

/** A signal name as sent by a caller ("SIGTERM", "TERM", "term") → Node's name; INVALID_ARGUMENT when unknown. */
export function parseSignalName(name: string): NodeJS.Signals {
  const upper = name.trim().toUpperCase();
  const full = upper.startsWith("SIG") ? upper : `SIG${upper}`;
  if (full in constants.signals) return full as NodeJS.Signals;
  throw new AgentError(
    "INVALID_ARGUMENT",
    `Signal "${name}" is not known; use a name such as "SIGTERM", "SIGINT", "SIGKILL", "SIGHUP" or "SIGUSR1".`,
  );
}
