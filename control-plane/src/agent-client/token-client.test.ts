import { Server, ServerCredentials, type sendUnaryData, type ServerUnaryCall } from "@grpc/grpc-js";
import { afterEach, describe, expect, it } from "vitest";
import { TokenServiceService, type RotateRequest, type RotateResponse } from "@devhatchery/proto/agent/v1/token";
import { AgentClient } from "./agent-client.js";

const OLD_TOKEN = "old-runner-token-0123456789abcdef0123";
const NEW_TOKEN = "new-runner-token-0123456789abcdef0123";
/** The first 16 hex characters of sha256(NEW_TOKEN). */
const NEW_FINGERPRINT = "cd11a3c1b44c55ff";

/**
 * A real gRPC server on loopback standing in for an agent that is not this build's: one whose TokenService answers
 * what it likes (a rewritten agent), or one without TokenService (an older agent). The real agent's answers are
 * tested in agent-client.test.ts.
 */
async function standInAgent(fingerprint?: string): Promise<{ server: Server; address: string; headers: string[] }> {
  const server = new Server();
  const headers: string[] = [];
  if (fingerprint !== undefined)
    server.addService(TokenServiceService, {
      rotate(call: ServerUnaryCall<RotateRequest, RotateResponse>, callback: sendUnaryData<RotateResponse>) {
        headers.push(String(call.metadata.get("authorization")[0]));
        callback(null, { fingerprint });
      },
    });
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) =>
      error ? reject(error) : resolve(bound),
    ),
  );
  return { server, address: `127.0.0.1:${port}`, headers };
}

describe("AgentClient.rotateToken against agents that are not this build's", () => {
  let server: Server | undefined;
  afterEach(() => {
    server?.forceShutdown();
    server = undefined;
  });

  it("sends the new token from the call after a rotation the agent confirmed", async () => {
    const agent = await standInAgent(NEW_FINGERPRINT);
    server = agent.server;
    await using client = new AgentClient("r-stand-in", agent.address, OLD_TOKEN);
    await client.rotateToken(NEW_TOKEN);
    await client.rotateToken(NEW_TOKEN);
    expect(agent.headers).toEqual([`Bearer ${OLD_TOKEN}`, `Bearer ${NEW_TOKEN}`]);
  });

  it("refuses an answer with another token's fingerprint and keeps sending the old token", async () => {
    const agent = await standInAgent("0123456789abcdef");
    server = agent.server;
    await using client = new AgentClient("r-liar", agent.address, OLD_TOKEN);
    const refusal = {
      code: "FAILED_PRECONDITION",
      message:
        `Runner "r-liar" answered the token rotation with fingerprint "0123456789abcdef", not "${NEW_FINGERPRINT}" of the ` +
        "token sent; its agent did not take the new token and cannot be trusted with the runner. Remove the runner " +
        "with runner_remove and spawn a new one.",
    };
    await expect(client.rotateToken(NEW_TOKEN)).rejects.toMatchObject(refusal);
    await expect(client.rotateToken(NEW_TOKEN)).rejects.toMatchObject(refusal);
    expect(agent.headers).toEqual([`Bearer ${OLD_TOKEN}`, `Bearer ${OLD_TOKEN}`]);
  });

  it("says that an agent without TokenService cannot have its token replaced", async () => {
    const agent = await standInAgent();
    server = agent.server;
    await using client = new AgentClient("r-older", agent.address, OLD_TOKEN);
    await expect(client.rotateToken(NEW_TOKEN)).rejects.toMatchObject({
      code: "FAILED_PRECONDITION",
      message:
        'Runner "r-older" runs an agent without token rotation (TokenService.Rotate is unimplemented); its token ' +
        "cannot be replaced. Remove the runner with runner_remove and spawn a new one.",
    });
  });
});
