import { status, type ClientReadableStream } from "@grpc/grpc-js";
import type { TarOutChunk } from "@devhatchery/proto/agent/v1/fs";
import type { AgentClient } from "./agent-client.js";
import { fromGrpcError } from "./grpc-errors.js";

export interface TarOutRequest {
  /** A directory (its contents are archived) or a single file. */
  path: string;
  /** Globs against members' relative paths: only matching files and symlinks (and their directories). */
  include: string[];
  /** Globs against members' relative paths: left out, a directory with everything below it. */
  exclude: string[];
}

/**
 * Streams an uncompressed tar archive of a path in the runner, chunk by chunk as the agent sends it (gRPC flow
 * control holds the agent back while the consumer is slow). Stopping early or aborting `signal` cancels the call;
 * agent failures arrive as ControlPlaneErrors.
 */
export async function* tarOut(agent: AgentClient, request: TarOutRequest, signal?: AbortSignal): AsyncGenerator<Buffer> {
  if (signal?.aborted) throw fromGrpcError({ code: status.CANCELLED, details: "cancelled before start" }, agent.runnerId);
  const call: ClientReadableStream<TarOutChunk> = agent.grpc.fs.tarOut(request, agent.callMetadata());
  const onAbort = (): void => call.cancel();
  signal?.addEventListener("abort", onAbort, { once: true });
  let complete = false;
  try {
    for await (const chunk of call as AsyncIterable<TarOutChunk>) {
      if (chunk.data.length > 0) yield Buffer.from(chunk.data.buffer, chunk.data.byteOffset, chunk.data.byteLength);
    }
    complete = true;
  } catch (error) {
    throw fromGrpcError(error, agent.runnerId);
  } finally {
    signal?.removeEventListener("abort", onAbort);
    if (!complete) call.cancel();
  }
}
