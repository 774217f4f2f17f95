import { status, type ClientReadableStream, type ServiceError } from "@grpc/grpc-js";
import type { ExecEvent as ProtoExecEvent } from "@devhatchery/proto/agent/v1/exec";
import type { AgentTransport } from "./agent-transport.js";
import type { ExecEvent, ExecExit } from "./exec-info.js";
import { toExecEvent } from "./exec-proto.js";

/** A stream following a process. Cancelling or disposing it leaves the process running. */
export interface ExecStream extends AsyncDisposable {
  /** Resolves when the stream ends: with the exit, or undefined after cancel(); rejects with a ControlPlaneError. */
  readonly ended: Promise<ExecExit | undefined>;
  cancel(): void;
}

/** Passes a call's events to `onEvent` and settles `ended` when the process exits, the call fails, or it is cancelled. */
export function followExecStream(
  transport: AgentTransport,
  call: ClientReadableStream<ProtoExecEvent>,
  onEvent: (event: ExecEvent) => void,
): ExecStream {
  let cancelled = false;
  let exit: ExecExit | undefined;
  const ended = new Promise<ExecExit | undefined>((resolve, reject) => {
    call.on("data", (message: ProtoExecEvent) => {
      const event = toExecEvent(message.event);
      if (!event || cancelled) return;
      if (event.type === "exited") exit = event;
      onEvent(event);
    });
    call.on("error", (error: ServiceError) =>
      cancelled && error.code === status.CANCELLED ? resolve(exit) : reject(transport.fail(error)),
    );
    call.on("end", () =>
      exit || cancelled
        ? resolve(exit)
        : reject(transport.fail({ code: status.UNAVAILABLE, details: "the exec stream ended without an exit event" })),
    );
  });
  const cancel = (): void => {
    cancelled = true;
    call.cancel();
  };
  return {
    ended,
    cancel,
    async [Symbol.asyncDispose]() {
      cancel();
      // Whoever cared about a failure awaited `ended` already; disposing only makes sure the call is gone.
      await ended.catch(() => undefined);
    },
  };
}
