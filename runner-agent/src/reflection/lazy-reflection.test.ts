import { credentials, makeGenericClientConstructor, status, type ServiceError } from "@grpc/grpc-js";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { authMetadata, startAgentHarness, type AgentHarness } from "../../test/agent-harness.js";

const PATHS = {
  v1: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
  v1alpha: "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
};
/** ServerReflectionRequest { list_services: "" } on the wire: field 7, length 0. */
const LIST_SERVICES = Buffer.from([0x3a, 0x00]);

/** Sends raw request bytes on one reflection stream and returns the raw first answer (or the call's error). */
function askRaw(address: string, path: string, request: Buffer): Promise<Buffer> {
  const identity = (bytes: Buffer): Buffer => bytes;
  const Client = makeGenericClientConstructor(
    {
      info: {
        path,
        requestStream: true,
        responseStream: true,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    },
    "RawReflection",
  );
  const client = new Client(address, credentials.createInsecure());
  return new Promise<Buffer>((resolve, reject) => {
    const call = (
      client as unknown as {
        info(
          metadata: ReturnType<typeof authMetadata>,
        ): NodeJS.EventEmitter & { write(bytes: Buffer): void; end(): void };
      }
    ).info(authMetadata());
    call.once("data", (answer: Buffer) => {
      call.end();
      resolve(answer);
    });
    call.once("error", reject);
    call.write(request);
  }).finally(() => client.close());
}

describe("server reflection, loaded on first use", () => {
  let agent: AgentHarness;
  let address: string;
  beforeEach(async () => {
    agent = await startAgentHarness();
    address = `127.0.0.1:${agent.server.port}`;
  });
  afterEach(async () => {
    await agent.close();
  });

  it("answers first calls that arrive together, on v1 and v1alpha alike", async () => {
    const answers = await Promise.all([
      askRaw(address, PATHS.v1, LIST_SERVICES),
      askRaw(address, PATHS.v1alpha, LIST_SERVICES),
      askRaw(address, PATHS.v1, LIST_SERVICES),
    ]);
    for (const answer of answers) {
      expect(answer.toString("latin1")).toContain("devhatchery.agent.v1.FsService");
      expect(answer.toString("latin1")).toContain("grpc.health.v1.Health");
    }
  });

  it("rejects a request it cannot decode with INVALID_ARGUMENT", async () => {
    // A tag whose varint is cut short.
    const error = (await askRaw(address, PATHS.v1, Buffer.from([0xff]))
      .then(() => undefined)
      .catch((caught: unknown) => caught)) as ServiceError | undefined;
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    expect(error?.details).toBe(
      "Cannot decode the server reflection request (index out of range: 1 + 1 > 1); send a grpc.reflection.v1 (or v1alpha) ServerReflectionRequest.",
    );
  });
});
