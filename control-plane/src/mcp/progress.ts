import type { RequestHandlerExtra } from "@modelcontextprotocol/sdk/shared/protocol.js";
import type { ServerNotification, ServerRequest } from "@modelcontextprotocol/sdk/types.js";

export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/**
 * Sends a progress notification; `progress` is raised when needed so it grows with every call. `flush` resolves
 * once every notification was handed over: a tool that awaits it before returning sends none after its result.
 */
export type ProgressReporter = ((progress: number, message: string, meta?: Record<string, unknown>) => void) & {
  flush(): Promise<void>;
};

/** A request's progress reporter that also counts the notifications (and their message characters) reported and not yet handed over. */
export type RequestProgressReporter = ProgressReporter & { readonly pending: number; readonly pendingChars: number };

/**
 * A progress reporter for one request: a no-op when the client sent no progress token. Notifications go out
 * in order; a failure to send one (client gone) never fails the tool call.
 */
export function createProgressReporter(extra: ToolExtra): RequestProgressReporter {
  const progressToken = extra._meta?.progressToken;
  let last = -Infinity;
  let pending = 0;
  let pendingChars = 0;
  let queue: Promise<void> = Promise.resolve();
  const report = (progress: number, message: string, meta?: Record<string, unknown>): void => {
    if (progressToken === undefined) return;
    last = Math.max(progress, last + 1);
    const params = { progressToken, progress: last, message, ...(meta ? { _meta: meta } : {}) };
    pending++;
    pendingChars += message.length;
    queue = queue.then(() =>
      extra
        .sendNotification({ method: "notifications/progress", params })
        .catch(() => undefined)
        .finally(() => {
          pending--;
          pendingChars -= message.length;
        }),
    );
  };
  return Object.defineProperties(Object.assign(report, { flush: () => queue }), {
    pending: { get: () => pending },
    pendingChars: { get: () => pendingChars },
  }) as RequestProgressReporter;
}
