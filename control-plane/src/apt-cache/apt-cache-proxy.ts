import { createReadStream } from "node:fs";
import { lookup } from "node:dns/promises";
import {
  createServer,
  request as httpRequest,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from "node:http";
import type { AddressInfo } from "node:net";
import type { Logger } from "../log.js";
import type { Meter } from "../meter.js";
import type { AptCacheStore } from "./apt-cache-store.js";
import { classifyAptRequest, isForbiddenUpstream } from "./apt-request-policy.js";

export interface AptCacheProxyOptions {
  /** How long Release and index files are served from the cache before they are fetched again. */
  indexTtlMs: number;
  /** How long the upstream may take to answer (headers) and then between chunks. */
  upstreamTimeoutMs: number;
}

/** Request headers that belong to the connection to the proxy, not to the upstream request. */
const HOP_BY_HOP = new Set([
  "connection",
  "proxy-connection",
  "keep-alive",
  "proxy-authorization",
  "proxy-authenticate",
  "te",
  "trailer",
  "transfer-encoding",
  "upgrade",
  "host",
]);

/**
 * An HTTP proxy for runners' apt (Acquire::http::Proxy): package files and by-hash indexes are kept on the control
 * plane's disk and served to every later runner; Release and package indexes for `indexTtlMs`; everything else in a
 * repository is passed through. The cache is shared by all principals, which is safe because its content comes only
 * from upstream repositories and apt checks every file against the repository's signed Release. See
 * docs/operators.md "Apt cache".
 */
export class AptCacheProxy {
  private readonly servers = new Map<string, Promise<Server>>();

  constructor(
    private readonly store: AptCacheStore,
    private readonly options: AptCacheProxyOptions,
    private readonly meter: Meter,
    private readonly log: Logger,
  ) {}

  /** Listens on `host:port` (once per host); resolves with the port it listens on. */
  async listen(host: string, port: number): Promise<number> {
    let server = this.servers.get(host);
    if (!server) {
      server = new Promise<Server>((resolve, reject) => {
        const created = createServer((request, response) => void this.handle(request, response));
        created.once("error", reject);
        created.listen(port, host, () => {
          created.off("error", reject);
          created.on("error", (error) => this.log.warn({ err: error, host }, "apt cache listener failed"));
          resolve(created);
        });
      });
      this.servers.set(host, server);
      server.catch(() => this.servers.delete(host));
    }
    return ((await server).address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const servers = await Promise.allSettled([...this.servers.values()]);
    this.servers.clear();
    await Promise.all(
      servers.map((settled) =>
        settled.status === "fulfilled"
          ? new Promise<void>((resolve) => {
              settled.value.closeAllConnections();
              settled.value.close(() => resolve());
            })
          : undefined,
      ),
    );
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const verdict = classifyAptRequest(request.method, request.url);
    if (verdict.kind === "refused") {
      this.meter.aptCacheRequest("refused", 0);
      return void response.writeHead(verdict.status, { "content-type": "text/plain" }).end(`${verdict.reason}\n`);
    }
    const url = verdict.url.href;
    const cacheable = verdict.kind !== "pass" && request.headers.range === undefined;
    const cached = cacheable
      ? this.store.find(url, verdict.kind === "index" ? this.options.indexTtlMs : Infinity)
      : undefined;
    if (cached) {
      this.meter.aptCacheRequest("hit", request.method === "HEAD" ? 0 : cached.entry.size);
      const since = request.headers["if-modified-since"];
      const lastModified = cached.entry.lastModified;
      if (since && lastModified && Date.parse(since) >= Date.parse(lastModified))
        return void response.writeHead(304).end();
      response.writeHead(200, {
        "content-length": String(cached.entry.size),
        ...(cached.entry.contentType ? { "content-type": cached.entry.contentType } : {}),
        ...(lastModified ? { "last-modified": lastModified } : {}),
        "x-devhatchery-apt-cache": "hit",
      });
      if (request.method === "HEAD") return void response.end();
      createReadStream(cached.path)
        .on("error", () => response.destroy())
        .pipe(response);
      return;
    }
    try {
      await this.forward(request, response, verdict.url, cacheable);
    } catch (error) {
      this.log.debug({ err: error, url }, "apt cache could not fetch from the repository");
      if (!response.headersSent)
        response
          .writeHead(502, { "content-type": "text/plain" })
          .end(`the apt cache could not reach ${verdict.url.host}: ${(error as Error).message}\n`);
      else response.destroy();
    }
  }

  /** Fetches from the repository and streams to the runner; a complete 200 of a cacheable file is also kept. */
  private async forward(
    request: IncomingMessage,
    response: ServerResponse,
    url: URL,
    cacheable: boolean,
  ): Promise<void> {
    const addresses = await lookup(url.hostname, { all: true });
    const forbidden = addresses.find((entry) => isForbiddenUpstream(entry.address));
    if (addresses.length === 0 || forbidden) {
      this.meter.aptCacheRequest("refused", 0);
      response
        .writeHead(403, { "content-type": "text/plain" })
        .end(`the apt cache does not connect to ${url.hostname} (${forbidden?.address ?? "no address"})\n`);
      return;
    }
    const headers = Object.fromEntries(
      Object.entries(request.headers).filter(([name]) => !HOP_BY_HOP.has(name.toLowerCase())),
    );
    // A file to keep is fetched whole, whatever the runner's copy is: the next runner has none.
    if (cacheable) {
      delete headers["if-modified-since"];
      delete headers["if-none-match"];
    }
    const upstream = await new Promise<IncomingMessage>((resolve, reject) => {
      const outgoing = httpRequest(
        {
          host: addresses[0]!.address,
          family: addresses[0]!.family,
          port: url.port || 80,
          path: `${url.pathname}${url.search}`,
          method: request.method,
          headers: { ...headers, host: url.host },
          timeout: this.options.upstreamTimeoutMs,
        },
        resolve,
      );
      outgoing.once("timeout", () => outgoing.destroy(new Error("the repository did not answer in time")));
      outgoing.once("error", reject);
      // The runner went away (apt cancelled, the runner was removed): stop fetching for it.
      response.once("close", () => {
        if (!response.writableFinished) outgoing.destroy();
      });
      outgoing.end();
    });
    const length = upstream.headers["content-length"] ? Number(upstream.headers["content-length"]) : undefined;
    const keep = cacheable && request.method === "GET" && upstream.statusCode === 200;
    this.meter.aptCacheRequest(keep ? "miss" : "pass", 0);
    response.writeHead(upstream.statusCode ?? 502, responseHeaders(upstream));
    const write = keep
      ? this.store.write(
          url.href,
          {
            contentType: headerValue(upstream.headers["content-type"]),
            lastModified: headerValue(upstream.headers["last-modified"]),
          },
          length,
        )
      : undefined;
    let received = 0;
    upstream.on("data", (chunk: Buffer) => {
      received += chunk.length;
      write?.stream.write(chunk);
      if (!response.write(chunk)) {
        upstream.pause();
        response.once("drain", () => upstream.resume());
      }
    });
    await new Promise<void>((resolve) => {
      let ended = false;
      upstream.once("end", () => {
        ended = true;
        response.end();
        this.meter.aptCacheUpstreamBytes(received);
        void (write?.commit(received) ?? Promise.resolve())
          .catch((error: unknown) =>
            this.log.warn({ err: error, url: url.href }, "could not keep a file in the apt cache"),
          )
          .finally(resolve);
      });
      upstream.once("error", () => undefined);
      upstream.once("close", () => {
        if (ended) return;
        response.destroy();
        void (write?.discard() ?? Promise.resolve()).finally(resolve);
      });
    });
  }
}

function responseHeaders(upstream: IncomingMessage): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(upstream.headers))
    if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = value;
  return headers;
}

function headerValue(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}
