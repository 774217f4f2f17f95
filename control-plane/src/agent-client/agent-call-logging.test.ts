import { createServer } from "node:net";
import { Writable } from "node:stream";
import { describe, expect, it } from "vitest";
import { createLogger } from "../log.js";
import { runWithRequestContext } from "../request-context.js";
import { AgentClient } from "./agent-client.js";

/** A loopback port nothing listens on: bound once, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe("an agent call to a runner that does not answer", () => {
  it("tells the client no address and logs the transport details with the request id it names", async () => {
    const chunks: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        chunks.push(chunk.toString("utf8"));
        done();
      },
    });
    const port = await closedPort();
    const client = new AgentClient("r-000000000001", `127.0.0.1:${port}`, "token-0123456789", createLogger("debug", sink));
    const error = (await runWithRequestContext({ correlationId: "req-closed" }, () => client.listDirectory("/work", 10)).catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({
      code: "RUNNER_UNAVAILABLE",
      message:
        'Runner "r-000000000001" is not answering; its agent may have stopped or the runner may be gone. Check it with runner_list, or spawn a new one with runner_spawn. See the control plane log, request id "req-closed".',
    });
    const lines = chunks.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toContainEqual(
      expect.objectContaining({ msg: "agent call failed", requestId: "req-closed", runner: "r-000000000001", grpcStatus: 14, details: expect.stringContaining(`ECONNREFUSED 127.0.0.1:${port}`) }),
    );
  });
});
