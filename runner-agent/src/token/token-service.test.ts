import { createHash } from "node:crypto";
import { PassThrough } from "node:stream";
import { status, type Metadata } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AGENT_TOKEN_MIN_LENGTH } from "@devhatchery/proto/contract";
import { HealthCheckResponse_ServingStatus, type HealthCheckResponse } from "@devhatchery/proto/health/v1";
import type { RotateResponse } from "@devhatchery/proto/agent/v1/token";
import {
  authMetadata,
  collectExec,
  execStartRequest,
  followExec,
  startAgentHarness,
  TEST_TOKEN,
  unaryCall,
  type AgentHarness,
} from "../../test/agent-harness.js";
import { createLogger } from "../log.js";

const NEW_TOKEN = "rotated-token-fedcba9876543210fedcba9876543210";
const UNAUTHENTICATED = {
  code: status.UNAUTHENTICATED,
  details: "missing or invalid runner token: send `authorization: Bearer <token>` metadata",
};

/** Computed here from the definition (proto/devhatchery/agent/v1/token.proto), not with the code under test. */
const fingerprintOf = (token: string): string => createHash("sha256").update(token).digest("hex").slice(0, 16);

describe("TokenService.Rotate", () => {
  let agent: AgentHarness;
  let logText = "";
  beforeEach(async () => {
    logText = "";
    const sink = new PassThrough();
    sink.on("data", (chunk: Buffer) => (logText += chunk.toString()));
    agent = await startAgentHarness({ log: createLogger("info", sink) });
  });
  afterEach(async () => {
    await agent.close();
  });

  const rotate = (newToken: string, metadata = authMetadata()): Promise<RotateResponse> =>
    unaryCall<RotateResponse>((meta, done) => agent.token.rotate({ newToken }, meta, done), metadata);
  const health = (metadata: Metadata): Promise<HealthCheckResponse_ServingStatus> =>
    unaryCall<HealthCheckResponse>((meta, done) => agent.health.check({ service: "" }, meta, done), metadata).then(
      (response) => response.status,
    );
  const debugStatus = async (token: string): Promise<number> =>
    (
      await fetch(`http://127.0.0.1:${agent.server.debugPort}/debug.json`, {
        headers: { authorization: `Bearer ${token}` },
      })
    ).status;
  const echo = async (text: string, metadata: Metadata): Promise<string> => {
    const events = await collectExec(agent.exec, { argv: ["echo", text] }, metadata);
    return events.flatMap((event) => (event?.$case === "output" ? [Buffer.from(event.value.data).toString()] : []))[0]!;
  };
  const logLines = (): Record<string, unknown>[] =>
    logText
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  it("swaps the token everywhere: the old one is refused by gRPC and the debug endpoint, the new one accepted", async () => {
    expect(await health(authMetadata())).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect(await debugStatus(TEST_TOKEN)).toBe(200);
    expect(await debugStatus(NEW_TOKEN)).toBe(401);
    await expect(health(authMetadata(NEW_TOKEN))).rejects.toMatchObject(UNAUTHENTICATED);

    expect(await rotate(NEW_TOKEN)).toEqual({ fingerprint: fingerprintOf(NEW_TOKEN) });

    await expect(health(authMetadata())).rejects.toMatchObject(UNAUTHENTICATED);
    await expect(echo("old", authMetadata())).rejects.toMatchObject(UNAUTHENTICATED);
    await expect(rotate(TEST_TOKEN)).rejects.toMatchObject(UNAUTHENTICATED);
    expect(await debugStatus(TEST_TOKEN)).toBe(401);

    expect(await health(authMetadata(NEW_TOKEN))).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect(await echo("new", authMetadata(NEW_TOKEN))).toBe("new\n");
    expect(await debugStatus(NEW_TOKEN)).toBe(200);
  });

  it("logs the new token's fingerprint and never a token", async () => {
    await rotate(NEW_TOKEN);
    expect(logLines()).toContainEqual(
      expect.objectContaining({ level: 30, msg: "runner token rotated", fingerprint: fingerprintOf(NEW_TOKEN) }),
    );
    expect(logText).not.toContain(NEW_TOKEN);
    expect(logText).not.toContain(TEST_TOKEN);
  });

  it("refuses a token shorter than the minimum and keeps the current one", async () => {
    const short = "x".repeat(AGENT_TOKEN_MIN_LENGTH - 1);
    await expect(rotate(short)).rejects.toMatchObject({
      code: status.INVALID_ARGUMENT,
      details:
        `The new runner token is ${AGENT_TOKEN_MIN_LENGTH - 1} characters long; a token needs at least ${AGENT_TOKEN_MIN_LENGTH}. ` +
        "The current token stays in force; send a longer one (e.g. 32 random bytes as 64 hex characters).",
    });
    await expect(rotate("")).rejects.toMatchObject({ code: status.INVALID_ARGUMENT });
    expect(await health(authMetadata())).toBe(HealthCheckResponse_ServingStatus.SERVING);
    await expect(health(authMetadata(short))).rejects.toMatchObject(UNAUTHENTICATED);
    expect(logText).not.toContain(short);
  });

  it("refuses a token no authorization header could carry and keeps the current one", async () => {
    for (const token of [`${NEW_TOKEN} space`, `${NEW_TOKEN}\n`, `${NEW_TOKEN}é`]) {
      await expect(rotate(token)).rejects.toMatchObject({
        code: status.INVALID_ARGUMENT,
        details:
          "The new runner token contains characters other than visible ASCII (spaces, control or non-ASCII characters), " +
          "which no authorization header can carry. The current token stays in force; send hex or base64url.",
      });
    }
    expect(await health(authMetadata())).toBe(HealthCheckResponse_ServingStatus.SERVING);
  });

  it("refuses a rotation without the current token", async () => {
    await expect(rotate(NEW_TOKEN, authMetadata("not-the-runner-token-0123456789abcdef"))).rejects.toMatchObject(
      UNAUTHENTICATED,
    );
    expect(await health(authMetadata())).toBe(HealthCheckResponse_ServingStatus.SERVING);
    await expect(health(authMetadata(NEW_TOKEN))).rejects.toMatchObject(UNAUTHENTICATED);
  });

  it("lets only one of two rotations made with the same token take effect", async () => {
    const other = "other-rotated-token-0123456789abcdef0123456789";
    const outcomes = await Promise.allSettled([rotate(NEW_TOKEN), rotate(other)]);
    const won = outcomes.findIndex((outcome) => outcome.status === "fulfilled");
    const lost = outcomes.find((outcome) => outcome.status === "rejected");
    expect(won).toBeGreaterThanOrEqual(0);
    expect(lost?.reason).toMatchObject({ code: status.UNAUTHENTICATED });
    const [winner, loser] = won === 0 ? [NEW_TOKEN, other] : [other, NEW_TOKEN];
    expect(outcomes[won]).toEqual({ status: "fulfilled", value: { fingerprint: fingerprintOf(winner) } });
    expect(await health(authMetadata(winner))).toBe(HealthCheckResponse_ServingStatus.SERVING);
    await expect(health(authMetadata(loser))).rejects.toMatchObject(UNAUTHENTICATED);
  });

  it("does not cut calls already in flight with the old token", async () => {
    const follower = followExec(
      agent.exec.exec(
        execStartRequest({ shell: 'echo before; read line; echo "after $line"', stdinOpen: true }),
        authMetadata(),
      ),
    );
    const started = await follower.next((event) => event.$case === "started");
    await follower.next((event) => event.$case === "output");
    await rotate(NEW_TOKEN);
    const execId = started.$case === "started" ? started.value.execId : "";
    await unaryCall(
      (meta, done) => agent.exec.writeStdin({ execId, data: Buffer.from("rotated\n"), close: true }, meta, done),
      authMetadata(NEW_TOKEN),
    );
    expect(await follower.ended).toBeUndefined();
    expect(follower.output().toString()).toBe("before\nafter rotated\n");
    expect(follower.events.at(-1)).toMatchObject({ $case: "exited", value: { exitCode: 0 } });
  });
});
