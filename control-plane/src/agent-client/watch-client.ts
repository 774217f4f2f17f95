import { status, type ClientReadableStream } from "@grpc/grpc-js";
import type {
  CloseWatchResponse,
  ReadChangesResponse,
  StartWatchResponse,
  WatchEvent as ProtoWatchEvent,
} from "@devhatchery/proto/agent/v1/watch";
import type { AgentTransport } from "./agent-transport.js";
import type { WatchChanges, WatchEvent, WatchInfo, WatchRequest } from "./watch-info.js";
import { toWatchEvents, toWatchInfo } from "./watch-proto.js";

/** Slack on a long poll's deadline beyond its wait, for the answer to travel back. */
const READ_DEADLINE_SLACK_MS = 10_000;

/** A StreamChanges call in progress; cancelling or disposing it detaches the reader, the watch goes on. */
export interface WatchStream extends AsyncDisposable {
  /** Resolves when the stream ends (after the watch's end, or cancel()); rejects with a ControlPlaneError. */
  readonly ended: Promise<void>;
  cancel(): void;
}

/** The watches role of an agent client: start a watch on a path, read or stream its events, close it. */
export class WatchClient {
  constructor(private readonly transport: AgentTransport) {}

  /** Starts a watch in the agent; RESOURCE_EXHAUSTED when the tree needs more inotify watches than allowed. */
  start(request: WatchRequest): Promise<WatchInfo> {
    const message = {
      path: request.path,
      recursive: request.recursive,
      ignore: request.ignore,
      gitignore: request.gitignore,
      debounceMs: request.debounceMs ?? 0,
      historyLimit: request.historyLimit ?? 0,
      idleTimeoutMs: request.idleTimeoutMs ?? 0,
    };
    return this.transport.unary(
      (done) => this.transport.watch.startWatch(message, this.transport.metadata(), done),
      (response: StartWatchResponse) => toWatchInfo(response.watch),
    );
  }

  /** The events after `afterCursor`, waiting up to `waitMs` for the first one (long poll). */
  read(watchId: string, afterCursor: number, waitMs: number, maxEvents: number): Promise<WatchChanges> {
    const deadline = Date.now() + waitMs + READ_DEADLINE_SLACK_MS;
    return this.transport.unary(
      (done) =>
        this.transport.watch.readChanges(
          { watchId, afterCursor, waitMs, maxEvents },
          this.transport.metadata(),
          { deadline },
          done,
        ),
      (response: ReadChangesResponse) => ({
        events: response.events.flatMap(toWatchEvents),
        nextCursor: response.nextCursor,
        hasMore: response.hasMore,
      }),
    );
  }

  /** Closes a watch; its id is forgotten by the agent. */
  close(watchId: string): Promise<WatchInfo> {
    return this.transport.unary(
      (done) => this.transport.watch.closeWatch({ watchId }, this.transport.metadata(), done),
      (response: CloseWatchResponse) => toWatchInfo(response.watch),
    );
  }

  /** Follows a watch's events after `afterCursor` (keepalives are not passed on). */
  stream(watchId: string, afterCursor: number, onEvent: (event: WatchEvent) => void): WatchStream {
    const call: ClientReadableStream<ProtoWatchEvent> = this.transport.watch.streamChanges(
      { watchId, afterCursor, keepaliveMs: 0 },
      this.transport.metadata(),
    );
    let cancelled = false;
    const ended = new Promise<void>((resolve, reject) => {
      call.on("data", (message: ProtoWatchEvent) => toWatchEvents(message).forEach(onEvent));
      call.on("error", (error: { code?: number }) =>
        cancelled && error.code === status.CANCELLED ? resolve() : reject(this.transport.fail(error)),
      );
      call.on("end", () => resolve());
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
}
