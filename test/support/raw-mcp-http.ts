import { request } from "node:http";

/** What a raw request to /mcp answered; `body` is cut at 64 KiB, `error` is set when no answer came. */
export interface RawResponse {
  status: number;
  body: string;
  error?: string;
}

export interface RawRequest {
  method?: "POST" | "GET" | "DELETE";
  headers?: Record<string, string>;
  /** Sent with a Content-Length. */
  body?: string | Buffer;
  /** Sent chunked, without a Content-Length: `head`, `repeat` times `chunk`, then `tail`. */
  chunked?: { head: string; chunk: Buffer; repeat: number; tail: string };
  /** Give up after this long (an SSE stream that stays open counts as answered once its status is known). */
  timeoutMs?: number;
}

const MAX_BODY_CHARS = 64 * 1024;

/**
 * One HTTP request with full control over its headers (Host included) and body framing, which fetch does not give.
 * Resolves with the status as soon as the server answers, even while the body is still being sent.
 */
export function rawMcpRequest(url: string, options: RawRequest): Promise<RawResponse> {
  const target = new URL(url);
  const headers: Record<string, string> = {
    Accept: "application/json, text/event-stream",
    "Content-Type": "application/json",
    ...options.headers,
  };
  if (options.body !== undefined) headers["Content-Length"] = String(Buffer.byteLength(options.body));
  return new Promise((resolve) => {
    let status = 0;
    let body = "";
    let done = false;
    const finish = (error?: string): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      req.destroy();
      resolve(error === undefined || status !== 0 ? { status, body } : { status, body, error });
    };
    const req = request(
      {
        host: target.hostname,
        port: target.port,
        path: target.pathname,
        method: options.method ?? "POST",
        headers,
        setHost: headers.Host === undefined,
      },
      (res) => {
        status = res.statusCode ?? 0;
        // An SSE stream that stays open (a GET) is answered once its first event or its status is there.
        if (String(res.headers["content-type"]).startsWith("text/event-stream") && options.method === "GET")
          setTimeout(() => finish(), 200);
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          if (body.length < MAX_BODY_CHARS) body += chunk.slice(0, MAX_BODY_CHARS - body.length);
        });
        res.on("end", () => finish());
        res.on("error", (error) => finish(error.message));
      },
    );
    const timer = setTimeout(
      () => finish(`no complete answer within ${options.timeoutMs ?? 30_000} ms`),
      options.timeoutMs ?? 30_000,
    );
    // The server may answer (413) and close while the body is still going out: that is not a failure of the request.
    req.on("error", (error) => finish(error.message));
    if (options.chunked) void writeChunked(req, options.chunked);
    else req.end(options.body);
  });
}

async function writeChunked(
  req: ReturnType<typeof request>,
  { head, chunk, repeat, tail }: NonNullable<RawRequest["chunked"]>,
): Promise<void> {
  const write = (data: string | Buffer): Promise<boolean> =>
    new Promise((resolve) => {
      if (req.destroyed) return resolve(false);
      if (req.write(data)) return resolve(true);
      const onDrain = (): void => {
        req.off("close", onClose);
        resolve(true);
      };
      const onClose = (): void => {
        req.off("drain", onDrain);
        resolve(false);
      };
      req.once("drain", onDrain);
      req.once("close", onClose);
    });
  if (!(await write(head))) return;
  for (let i = 0; i < repeat; i++) if (!(await write(chunk))) return;
  if (await write(tail)) req.end();
}

/** The JSON-RPC messages of a response body: a JSON object, or the `data:` lines of an SSE stream. */
export function jsonRpcMessages(body: string): Record<string, unknown>[] {
  const trimmed = body.trim();
  if (trimmed.startsWith("{") || trimmed.startsWith("[")) {
    try {
      const parsed = JSON.parse(trimmed) as unknown;
      return (Array.isArray(parsed) ? parsed : [parsed]) as Record<string, unknown>[];
    } catch {
      return [];
    }
  }
  return trimmed
    .split("\n")
    .filter((line) => line.startsWith("data:") && line.length > 5)
    .flatMap((line) => {
      try {
        return [JSON.parse(line.slice(5)) as Record<string, unknown>];
      } catch {
        return [];
      }
    });
}
