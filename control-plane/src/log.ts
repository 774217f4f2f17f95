import { pino, type Logger } from "pino";
import { currentRequestContext } from "./request-context.js";
import { redactSecrets, redactText } from "./secret-redaction.js";

export type { Logger };

/** The request a line was written for, so one request's lines (and the agent's, by the same id) can be found together. */
function requestFields(): { requestId?: string } {
  const context = currentRequestContext();
  return context ? { requestId: context.correlationId } : {};
}

/** Errors as pino writes them (type, message, stack, cause, own fields), so redaction sees their text too. */
function serializeErrors(fields: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(fields).map(([key, value]) => [
      key,
      value instanceof Error ? pino.stdSerializers.err(value) : value,
    ]),
  );
}

/** The same redaction as the audit log's: one rule for every stream an operator keeps. */
function redactFields(fields: Record<string, unknown>): Record<string, unknown> {
  return redactSecrets(serializeErrors(fields)) as Record<string, unknown>;
}

/**
 * pino formats a child's bindings once, without formatters (only the root's go through formatters.bindings):
 * redact that JSON fragment as each child is made.
 */
function redactChildBindings(child: Logger): void {
  const holder = child as unknown as Record<symbol, string>;
  const fragment = holder[pino.symbols.chindingsSym] ?? "";
  if (!fragment) return;
  const bindings = JSON.parse(`{${fragment.slice(1)}}`) as Record<string, unknown>;
  holder[pino.symbols.chindingsSym] = `,${JSON.stringify(redactSecrets(bindings)).slice(1, -1)}`;
}

/**
 * Creates the control plane's JSON logger. Every line is redacted as the audit log is (secret-named fields,
 * credentials, secret assignments, JWTs and key-like blobs in any text, error messages and stacks included); lines
 * written while serving a request carry its requestId.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  const options: pino.LoggerOptions = {
    level,
    base: { service: "control-plane" },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: requestFields,
    formatters: { log: redactFields, bindings: redactFields },
    onChild: redactChildBindings,
    // Errors are already serialized (and redacted) by formatters.log; the message is free text.
    serializers: {
      err: (value: unknown) => value,
      msg: (value: unknown) => (typeof value === "string" ? redactText(value) : value),
    },
  };
  return destination ? pino(options, destination) : pino(options);
}
