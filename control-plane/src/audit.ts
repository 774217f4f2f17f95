/**
 * The audit trail: one JSON line per security-relevant event (lifecycle, exec start/end metadata, fs writes and
 * deletes, mounts, exports, auth failures, policy denials), with principal and correlation id. Never content,
 * never a secret. The implementation lives in observability/; domain services receive this interface.
 */
export interface AuditEvent {
  /** What happened, dotted: "runner.spawn", "runner.stop", "runner.remove", "volume.remove", "exec.start", "exec.end", "fs.write", "fs.remove", "mount", "mount.changed", "export.create", "snapshot.create", "snapshot.remove", "gc.delete", "auth.failure", "policy.denied". */
  action: string;
  principal: string;
  outcome: "ok" | "denied" | "failed";
  runner?: string | undefined;
  /** Further metadata: ids, paths, sizes, exit codes, durations. Never file content, environment values or tokens. */
  [field: string]: unknown;
}

export interface AuditLog {
  record(event: AuditEvent): void;
}

/** An audit log that keeps nothing (tests of other things, and when the operator turned auditing off). */
export const NO_AUDIT: AuditLog = { record: () => undefined };
