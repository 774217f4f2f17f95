import type { ResponseBacklog } from "../response-backlog.js";

/**
 * The same response, its body moved at once into a queue whose size `backlog` tracks: bytes written by the
 * producer and not yet pulled by the HTTP layer (which pulls only when the socket drained). The producer's own
 * stream then never holds anything; the backlog says exactly how much waits for a slow client.
 */
export function meterBody(response: Response, backlog: ResponseBacklog): Response {
  const source = response.body;
  if (!source) return response;
  const reader = source.getReader();
  const queue: Uint8Array[] = [];
  let done = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  const pump = async (): Promise<void> => {
    try {
      for (;;) {
        const chunk = await reader.read();
        if (chunk.done) break;
        queue.push(chunk.value);
        backlog.queuedBytes += chunk.value.byteLength;
        wake?.();
      }
    } catch (error) {
      failure = { error };
    }
    done = true;
    wake?.();
  };
  void pump();
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        while (queue.length === 0 && !done) await new Promise<void>((resolve) => (wake = resolve));
        wake = undefined;
        const chunk = queue.shift();
        if (chunk) {
          backlog.queuedBytes -= chunk.byteLength;
          controller.enqueue(chunk);
        } else if (failure) controller.error(failure.error);
        else controller.close();
      },
      cancel(reason) {
        queue.length = 0;
        backlog.queuedBytes = 0;
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
  return new Response(body, { status: response.status, statusText: response.statusText, headers: response.headers });
}
