import { AsyncLocalStorage } from "node:async_hooks";

/**
 * How much of one streamed HTTP response (an SSE stream) waits in this process because its client reads slower
 * than it is written. Work serving that request checks `congested` to skip what the client can fetch again later
 * (exec output it reads with exec_read) instead of buffering it without bound.
 */
export class ResponseBacklog {
  /** Bytes written to the response and not yet taken by the socket. */
  queuedBytes = 0;

  constructor(readonly limitBytes: number) {}

  get congested(): boolean {
    return this.queuedBytes >= this.limitBytes;
  }
}

const storage = new AsyncLocalStorage<ResponseBacklog>();

/** Runs `work` (and everything it starts asynchronously) with `backlog` as the current response's. */
export function runWithResponseBacklog<T>(backlog: ResponseBacklog, work: () => T): T {
  return storage.run(backlog, work);
}

/** The backlog of the response being produced, if the current request streams one. */
export function currentResponseBacklog(): ResponseBacklog | undefined {
  return storage.getStore();
}
