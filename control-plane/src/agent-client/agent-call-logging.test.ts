import { describe, expect, it } from "vitest";
import { captureLog } from "../../test/captured-log.js";
import { freePort } from "../../test/free-port.js";
import { runWithRequestContext } from "../request-context.js";
import { AgentClient } from "./agent-client.js";

describe("an agent call to a runner that does not answer", () => {
  it("tells the client no address and logs the transport details with the request id it names", async () => {
    const { log, lines } = captureLog();
    const port = await freePort();
    const client = new AgentClient("r-000000000001", `127.0.0.1:${port}`, "token-0123456789", log);
    const error = (await runWithRequestContext({ correlationId: "req-closed" }, () =>
      client.fs.list("/work", 10),
    ).catch((e: unknown) => e)) as Error;
    expect(error).toMatchObject({
      code: "RUNNER_UNAVAILABLE",
      message:
        'Runner "r-000000000001" is not answering; its agent may have stopped or the runner may be gone. Check it with runner_list, or spawn a new one with runner_spawn. See the control plane log, request id "req-closed".',
    });
    expect(lines()).toContainEqual(
      expect.objectContaining({
        msg: "agent call failed",
        requestId: "req-closed",
        runner: "r-000000000001",
        grpcStatus: 14,
        details: expect.stringContaining(`ECONNREFUSED 127.0.0.1:${port}`),
      }),
    );
  });
});
