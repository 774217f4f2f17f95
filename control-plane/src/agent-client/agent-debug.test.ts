import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ControlPlaneError } from "../errors.js";
import { fetchAgentDebug } from "./agent-debug.js";

const TOKEN = "runner-token-0123456789";

/** A real HTTP server on loopback standing in for an agent's debug port (a rewritten agent answers what it likes). */
async function standInAgent(
  handle: (request: IncomingMessage, response: ServerResponse) => void,
): Promise<{ server: Server; port: number }> {
  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, port: (server.address() as AddressInfo).port };
}

describe("fetchAgentDebug", () => {
  let server: Server | undefined;
  afterEach(async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve) ?? resolve(undefined));
    server = undefined;
  });

  it("asks for /debug.json with the runner's token and returns the parsed snapshot", async () => {
    const seen: { url?: string; authorization?: string } = {};
    const agent = await standInAgent((request, response) => {
      Object.assign(seen, { url: request.url, authorization: request.headers.authorization });
      response
        .writeHead(200, { "content-type": "application/json" })
        .end(JSON.stringify({ version: "0.1.0", processes: [] }));
    });
    server = agent.server;
    await expect(fetchAgentDebug("127.0.0.1", TOKEN, "r-1", { port: agent.port })).resolves.toEqual({
      version: "0.1.0",
      processes: [],
    });
    expect(seen).toEqual({ url: "/debug.json", authorization: `Bearer ${TOKEN}` });
  });

  it("refuses an answer declared larger than the cap without reading it", async () => {
    const agent = await standInAgent((_request, response) => {
      response.writeHead(200, { "content-type": "application/json", "content-length": String(2 * 1024 * 1024) });
      response.end(`"${"x".repeat(2 * 1024 * 1024 - 2)}"`);
    });
    server = agent.server;
    await expect(fetchAgentDebug("127.0.0.1", TOKEN, "r-1", { port: agent.port })).rejects.toThrow(
      new ControlPlaneError(
        "RESOURCE_EXHAUSTED",
        'Runner "r-1" answered its debug view with more than 1048576 bytes, the most the control plane reads; its agent is not a DevHatchery agent answering normally. Remove the runner with runner_remove and spawn a new one.',
      ),
    );
  });

  it("stops reading an endless answer at the cap and hangs up", async () => {
    let written = 0;
    let hungUp: () => void = () => undefined;
    const closed = new Promise<void>((resolve) => (hungUp = resolve));
    const agent = await standInAgent((_request, response) => {
      response.writeHead(200, { "content-type": "application/json" });
      const chunk = Buffer.alloc(64 * 1024, "x");
      response.on("close", hungUp);
      // Writes while the client reads; bounded at 256 MiB so a broken cap fails the test instead of filling memory.
      const pump = (): void => {
        while (written < 256 * 1024 * 1024 && !response.destroyed) {
          written += chunk.length;
          if (!response.write(chunk)) return void response.once("drain", pump);
        }
        response.end();
      };
      pump();
    });
    server = agent.server;
    const error = await fetchAgentDebug("127.0.0.1", TOKEN, "r-1", { port: agent.port, maxBytes: 256 * 1024 }).catch(
      (e: unknown) => e,
    );
    expect(error).toMatchObject({ code: "RESOURCE_EXHAUSTED" });
    await closed;
    expect(written).toBeLessThan(64 * 1024 * 1024);
  });

  it("refuses an answer that is not JSON or not a 200", async () => {
    const agent = await standInAgent((request, response) => {
      if (request.headers.authorization === `Bearer ${TOKEN}`)
        response.writeHead(200, { "content-type": "text/html" }).end("<script>alert(1)</script>");
      else response.writeHead(401).end();
    });
    server = agent.server;
    await expect(fetchAgentDebug("127.0.0.1", TOKEN, "r-1", { port: agent.port })).rejects.toMatchObject({
      code: "FAILED_PRECONDITION",
      message:
        'Runner "r-1" answered its debug view with something that is not JSON; remove it with runner_remove and spawn a new one.',
    });
    await expect(fetchAgentDebug("127.0.0.1", "wrong-token", "r-1", { port: agent.port })).rejects.toMatchObject({
      code: "FAILED_PRECONDITION",
      message: 'Runner "r-1" refused its debug view (HTTP 401); remove it with runner_remove and spawn a new one.',
    });
  });

  it("says the runner did not answer, with no address or port, when nothing listens", async () => {
    const agent = await standInAgent(() => undefined);
    await new Promise((resolve) => agent.server.close(resolve));
    const error = (await fetchAgentDebug("127.0.0.1", TOKEN, "r-1", { port: agent.port }).catch(
      (e: unknown) => e,
    )) as ControlPlaneError;
    expect(error).toMatchObject({ code: "RUNNER_UNAVAILABLE" });
    expect(error.message).toBe(
      'Runner "r-1" did not answer on its debug port; its agent may be stopped or older than the debug endpoint. Check it with runner_list.',
    );
  });
});
