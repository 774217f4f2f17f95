import { closeSync, mkdirSync, openSync, writeSync } from "node:fs";
import { dirname, isAbsolute } from "node:path";
import type { AuditEvent, AuditLog } from "../audit.js";
import { ControlPlaneError } from "../errors.js";
import { currentRequestContext } from "../request-context.js";
import { redactSecrets } from "../secret-redaction.js";

/** An audit log the composition root owns: close it on shutdown (a file is flushed and closed). */
export interface ClosableAuditLog extends AuditLog {
  close(): void;
}

/** Where records go: "stderr", "stdout", an absolute file path (appended, created 0600), or undefined for nowhere. */
export type AuditDestination = "stderr" | "stdout" | string | undefined;

interface LineSink {
  write(line: string): void;
  close(): void;
}

function openSink(destination: string): LineSink {
  if (destination === "stderr") return { write: (line) => process.stderr.write(line), close: () => undefined };
  if (destination === "stdout") return { write: (line) => process.stdout.write(line), close: () => undefined };
  if (!isAbsolute(destination)) {
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      `Audit log destination "${destination}" is neither "stderr", "stdout" nor an absolute file path; set auditLog to one of those.`,
    );
  }
  let fd: number;
  try {
    mkdirSync(dirname(destination), { recursive: true, mode: 0o700 });
    fd = openSync(destination, "a", 0o600);
  } catch (error) {
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      `Cannot open the audit log "${destination}" for appending (${(error as Error).message}); choose a writable path or "stderr".`,
      { cause: error },
    );
  }
  // Written synchronously: a record is on disk before the action it describes returns, and none is lost on a crash.
  return { write: (line) => void writeSync(fd, line), close: () => closeSync(fd) };
}

/**
 * The audit trail as JSON lines on a stream of its own: time, action, outcome, principal, the request's correlation
 * id and the event's fields, with secret-looking values redacted. Undefined destination: records are dropped.
 */
export function createAuditLog(destination: AuditDestination, now: () => Date = () => new Date()): ClosableAuditLog {
  if (destination === undefined) return { record: () => undefined, close: () => undefined };
  const sink = openSink(destination);
  let closed = false;
  return {
    record(event: AuditEvent): void {
      if (closed) return;
      const { action, outcome, principal, ...fields } = event;
      const context = currentRequestContext();
      const record = {
        time: now().toISOString(),
        action,
        outcome,
        principal: principal || context?.principal || "anonymous",
        correlationId: context?.correlationId,
        ...(redactSecrets(fields) as Record<string, unknown>),
      };
      sink.write(`${JSON.stringify(record)}\n`);
    },
    close(): void {
      if (closed) return;
      closed = true;
      sink.close();
    },
  };
}
