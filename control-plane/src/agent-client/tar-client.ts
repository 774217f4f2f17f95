import { status, type ClientReadableStream } from "@grpc/grpc-js";
import type { TarOutChunk } from "@devhatchery/proto/agent/v1/fs";
import type { AgentTransport } from "./agent-transport.js";

/** What to archive: a path in the runner and the globs that narrow it. */
export interface TarOutRequest {
  /** A directory (its contents are archived) or a single file. */
  path: string;
  /** Globs against members' relative paths: only matching files and symlinks (and their directories). */
  include: string[];
  /** Globs against members' relative paths: left out, a directory with everything below it. */
  exclude: string[];
}

/** The archives role of an agent client: tar streams out of the runner. */
export class TarClient {
  constructor(private readonly transport: AgentTransport) {}

  /**
   * Streams an uncompressed tar archive of a path in the runner, chunk by chunk as the agent sends it (gRPC flow
   * control holds the agent back while the consumer is slow). Stopping early or aborting `signal` cancels the call;
   * agent failures arrive as ControlPlaneErrors.
   */
  async *out(request: TarOutRequest, signal?: AbortSignal): AsyncGenerator<Buffer> {
    if (signal?.aborted) throw this.transport.fail({ code: status.CANCELLED, details: "cancelled before start" });
    const call: ClientReadableStream<TarOutChunk> = this.transport.fs.tarOut(request, this.transport.metadata());
    const onAbort = (): void => call.cancel();
    signal?.addEventListener("abort", onAbort, { once: true });
    let complete = false;
    try {
      for await (const chunk of call as AsyncIterable<TarOutChunk>) {
        if (chunk.data.length > 0) yield Buffer.from(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength);
      }
      complete = true;
    } catch (error) {
      throw this.transport.fail(error);
    } finally {
      signal?.removeEventListener("abort", onAbort);
      if (!complete) call.cancel();
    }
  }
}
