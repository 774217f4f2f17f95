import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { ServerNotification, ServerRequest } from "@modelcontextprotocol/sdk/types.js";

export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** Sends a progress notification; `progress` must grow with every call. */
export type ProgressReporter = (progress: number, message: string, meta?: Record<string, unknown>) => void;

/**
 * A progress reporter for one request: a no-op when the client sent no progress token. Notifications go out
 * in order; a failure to send one (client gone) never fails the tool call.
 */
export function createProgressReporter(extra: ToolExtra): ProgressReporter {
  const progressToken = extra._meta?.progressToken;
  if (progressToken === undefined) return () => {};
  let last = -Infinity;
  let queue: Promise<void> = Promise.resolve();
  return (progress, message, meta) => {
    const next = progress > last ? progress : last + 1;
    last = next;
    const params = { progressToken, progress: next, message, ...(meta ? { _meta: meta } : {}) };
    queue = queue.then(() => extra.sendNotification({ method: "notifications/progress", params }).catch(() => undefined));
  };
}
