import { setImmediate as nextTurn } from "node:timers/promises";
import { AgentError } from "../errors.js";

/** The receiving end of an upload: the bytes in order, then finish; abort on any failure or cancellation. */
export interface UploadSink<Result> {
  write(chunk: Uint8Array): Promise<void>;
  /** Commits the upload unless `cancelled` fires before the point of no return (then it fails and cleans up). */
  finish(cancelled: AbortSignal): Promise<Result>;
  abort(): Promise<void>;
}

/** A client-streaming call whose messages are one header, then data chunks (the shape of Write and TarIn). */
export interface UploadCall<Header> extends AsyncIterable<{
  message: { $case: "header"; value: Header } | { $case: "data"; value: Uint8Array } | undefined;
}> {
  readonly cancelled: boolean;
  once(event: "cancelled", listener: () => void): unknown;
}

/**
 * Consumes an upload: opens the sink from the header, feeds it every data chunk (one at a time, so a slow disk
 * slows the client down instead of filling memory), and finishes it when the client half-closes. A protocol
 * error, a failing sink or a cancelled call aborts the sink, so nothing half-written stays behind.
 */
export async function receiveUpload<Header, Result>(
  call: UploadCall<Header>,
  rpc: string,
  open: (header: Header) => Promise<UploadSink<Result>>,
): Promise<Result> {
  let sink: UploadSink<Result> | undefined;
  const cancelled = new AbortController();
  call.once("cancelled", () => cancelled.abort());
  try {
    for await (const { message } of call) {
      if (message?.$case === "header") {
        if (sink)
          throw new AgentError(
            "INVALID_ARGUMENT",
            `${rpc}: a second header arrived; send exactly one header, as the first message, then only data.`,
          );
        sink = await open(message.value);
      } else if (message?.$case === "data") {
        if (!sink)
          throw new AgentError(
            "INVALID_ARGUMENT",
            `${rpc}: data arrived before the header; send the header (path and options) as the first message.`,
          );
        await sink.write(message.value);
      }
    }
    if (!sink)
      throw new AgentError(
        "INVALID_ARGUMENT",
        `${rpc}: the stream ended without a header; send the header (path and options) as the first message.`,
      );
    // A cancel (RST_STREAM) first ends the message stream like a half-close, and only a few ticks later marks the
    // call cancelled: let those ticks run, and let the sink check again right before it commits.
    await nextTurn();
    if (call.cancelled) cancelled.abort();
    return await sink.finish(cancelled.signal);
  } catch (error) {
    await sink?.abort().catch(() => undefined);
    throw error;
  }
}
