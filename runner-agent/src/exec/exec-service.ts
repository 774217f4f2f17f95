import type { ServerWritableStream } from "@grpc/grpc-js";
import {
  ExitReason,
  OutputStream,
  type ExecEvent,
  type ExecExited,
  type ExecRequest,
  type ExecServiceServer,
} from "@devhatchery/proto/agent/v1/exec";
import { toGrpcError } from "../errors.js";
import type { Logger } from "../log.js";
import type { ExecHandle, ExecOutcome, ProcessManager } from "./process-manager.js";

const EXIT_REASON: Record<ExecOutcome["reason"], ExitReason> = {
  exited: ExitReason.EXIT_REASON_EXITED,
  signaled: ExitReason.EXIT_REASON_SIGNALED,
  timed_out: ExitReason.EXIT_REASON_TIMED_OUT,
};

function toExited(outcome: ExecOutcome): ExecExited {
  return {
    reason: EXIT_REASON[outcome.reason],
    ...(outcome.exitCode !== undefined ? { exitCode: outcome.exitCode } : {}),
    signal: outcome.signal ?? "",
    durationMs: outcome.durationMs,
  };
}

/** The gRPC adapter for ExecService: streams a process's life as started → output* → exited. */
export function createExecService(processes: ProcessManager, log: Logger): ExecServiceServer {
  return {
    exec(call: ServerWritableStream<ExecRequest, ExecEvent>): void {
      const { argv, shell, cwd, env, timeoutMs } = call.request;
      const send = (event: ExecEvent["event"]): boolean => call.write({ event });
      let handle: ExecHandle | undefined;
      let ended = false;
      let paused = false;

      processes
        .start(
          { argv, shell, cwd, env, timeoutMs },
          {
            onOutput(stream, seq, data) {
              const name = stream === "stdout" ? OutputStream.OUTPUT_STREAM_STDOUT : OutputStream.OUTPUT_STREAM_STDERR;
              // Backpressure: a slow reader pauses the process's pipes instead of growing the agent's memory.
              if (!send({ $case: "output", value: { stream: name, seq, data } }) && !paused) {
                paused = true;
                handle?.pauseOutput();
                call.once("drain", () => {
                  paused = false;
                  handle?.resumeOutput();
                });
              }
            },
            onExit(outcome) {
              ended = true;
              if (call.cancelled) return;
              send({ $case: "exited", value: toExited(outcome) });
              call.end();
            },
          },
        )
        .then((started) => {
          handle = started;
          send({ $case: "started", value: { execId: started.id, pid: started.pid } });
        })
        .catch((error: unknown) => {
          log.info({ err: error }, "exec refused");
          call.emit("error", toGrpcError(error));
        });

      // Until output replay exists, a caller that goes away takes its process with it: nobody could read it.
      call.on("cancelled", () => {
        if (!ended) handle?.terminate();
      });
    },
  };
}
