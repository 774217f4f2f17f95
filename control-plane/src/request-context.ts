import { AsyncLocalStorage } from "node:async_hooks";
import { randomUUID } from "node:crypto";

/** What every log line, audit record and agent call made while serving one HTTP request knows about it. */
export interface RequestContext {
  /** The request's correlation id: the client's X-Request-Id when it is safe, else a generated one. */
  readonly correlationId: string;
  /** Set once authentication resolved the caller. */
  principal?: string | undefined;
}

/** Letters, digits and `._:-`, at most 64 characters: safe in logs, headers and gRPC metadata as it is. */
const SAFE_CORRELATION_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$/;

const storage = new AsyncLocalStorage<RequestContext>();

/** True when `value` may be used as a correlation id as it is (otherwise generate one). */
export function isSafeCorrelationId(value: string | undefined): value is string {
  return value !== undefined && SAFE_CORRELATION_ID.test(value);
}

/** The client's id when it is safe, else a fresh one. */
export function correlationIdFrom(requested: string | undefined): string {
  return isSafeCorrelationId(requested) ? requested : randomUUID();
}

/** Runs `work` (and everything it starts asynchronously) with `context` as the current request. */
export function runWithRequestContext<T>(context: RequestContext, work: () => T): T {
  return storage.run(context, work);
}

/** The request being served, if any (undefined in background work such as sweeps and start-up). */
export function currentRequestContext(): RequestContext | undefined {
  return storage.getStore();
}

/**
 * Where an operator finds what a client-facing message leaves out (engine text, addresses): the log lines written
 * for this request carry its id.
 */
export function logReference(): string {
  const id = currentRequestContext()?.correlationId;
  return id ? `See the control plane log, request id "${id}".` : "See the control plane log.";
}
