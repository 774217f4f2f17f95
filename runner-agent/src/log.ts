import { currentCorrelationId } from "./call-context.js";

const LEVELS = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60 } as const;
type LevelName = keyof typeof LEVELS;

interface LogMethod {
  (fields: Record<string, unknown>, message?: string): void;
  (message: string): void;
}

/**
 * The agent's logger: pino's call shape and lines (`{"level":30,"time":…,"service":"runner-agent",…,"msg":…}`),
 * written synchronously, without pino itself: the agent lives in every runner and pino costs it about 2 MB.
 */
export type Logger = Record<LevelName, LogMethod>;

/** Errors as pino's serializer writes them: type, message, stack, their own fields (code, path, …) and cause. */
function errorFields(error: Error, depth = 0): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    type: error.constructor.name,
    ...error,
    message: error.message,
    stack: error.stack,
  };
  if (error.cause instanceof Error && depth < 4) fields.cause = errorFields(error.cause, depth + 1);
  return fields;
}

function replacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return errorFields(value);
  return typeof value === "bigint" ? value.toString() : value;
}

function formatLine(level: number, fields: Record<string, unknown>, message: string | undefined): string {
  const correlationId = currentCorrelationId();
  const head = {
    level,
    time: new Date().toISOString(),
    service: "runner-agent",
    ...(correlationId ? { requestId: correlationId } : {}),
  };
  try {
    return `${JSON.stringify({ ...head, ...fields, msg: message }, replacer)}\n`;
  } catch (error) {
    // A field that cannot be written (a cycle) must not lose the line.
    return `${JSON.stringify({ ...head, msg: message, logError: `cannot serialize the fields: ${(error as Error).message}` })}\n`;
  }
}

/**
 * Creates the agent's JSON logger, writing to stdout (so `docker logs` shows it) unless given a destination. Lines
 * written while serving a call carry the control plane's request id (`requestId`, the field name of its own log).
 */
export function createLogger(level: string, destination: NodeJS.WritableStream = process.stdout): Logger {
  if (level !== "silent" && !(level in LEVELS)) {
    throw new Error(`Unknown log level "${level}"; use one of ${Object.keys(LEVELS).join(", ")} or silent.`);
  }
  const threshold = level === "silent" ? Number.POSITIVE_INFINITY : LEVELS[level as LevelName];
  const method = (value: number): LogMethod => {
    if (value < threshold) return () => undefined;
    return (first: Record<string, unknown> | string, message?: string) => {
      const line = typeof first === "string" ? formatLine(value, {}, first) : formatLine(value, first, message);
      destination.write(line);
    };
  };
  return {
    trace: method(LEVELS.trace),
    debug: method(LEVELS.debug),
    info: method(LEVELS.info),
    warn: method(LEVELS.warn),
    error: method(LEVELS.error),
    fatal: method(LEVELS.fatal),
  };
}
