import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAgentDeliveryFixture, type AgentDeliveryFixture } from "../../../test/agent-delivery-fixture.js";
import { removeTestRunners } from "../../../test/docker-cleanup.js";
import { createLogger } from "../../log.js";
import { DockerRuntime } from "../../runtime/docker-runtime.js";
import { createSqliteStateStore } from "../../store/sqlite-state-store.js";
import { FileService } from "./file-service.js";
import { RunnerService } from "../runner-service.js";

/** Plain Debian: the agent is injected from this checkout's bundle, so the test exercises the current agent whatever the baked test image carries. */
const DEBIAN_IMAGE = "devhatchery-test/debian:bookworm";

describe("an etag mismatch through the real agent: ABORTED on the wire, ETAG_MISMATCH in the control plane, no second call", () => {
  const suffix = randomBytes(4).toString("hex");
  const alice = { id: `test-etag-${suffix}` };
  const network = `devhatchery-test-${suffix}`;
  const log = createLogger("silent");
  let fixture: AgentDeliveryFixture;
  let files: FileService;
  let runnerId: string;

  const write = (path: string, content: string, ifMatch?: string) =>
    files.write(alice, runnerId, path, content, { encoding: "utf8", createParents: true, mode: undefined, ifMatch });

  beforeAll(async () => {
    fixture = await createAgentDeliveryFixture(suffix);
    const runners = new RunnerService(
      new DockerRuntime(log, undefined, fixture.options()),
      createSqliteStateStore(":memory:"),
      { defaultImage: DEBIAN_IMAGE, network, readyTimeoutMs: 20_000 },
      log,
    );
    files = new FileService(runners, log);
    runnerId = (await runners.spawn(alice, { image: DEBIAN_IMAGE })).runnerId;
  });
  afterAll(async () => {
    await removeTestRunners([alice.id], network);
    await fixture?.cleanup();
  });

  it("refuses a stale or removed version of a write and a read with ETAG_MISMATCH naming both etags", async () => {
    const v1 = (await write("/work/doc.txt", "one")).etag;
    const v2 = (await write("/work/doc.txt", "two", v1)).etag;
    await expect(write("/work/doc.txt", "lost", v1)).rejects.toMatchObject({
      code: "ETAG_MISMATCH",
      message:
        `Cannot write "/work/doc.txt": if_match expected etag "${v1}" but the current etag is "${v2}"; the file changed since you read it. ` +
        "Read it again for its current content and etag, reapply your change, and retry with the new etag.",
    });
    await expect(
      files.read(alice, runnerId, "/work/doc.txt", { encoding: "utf8", offset: 0, length: 0, ifMatch: v1 }),
    ).rejects.toMatchObject({ code: "ETAG_MISMATCH" });
    await expect(write("/work/gone.txt", "x", v2)).rejects.toMatchObject({
      code: "ETAG_MISMATCH",
      message: expect.stringContaining(
        `Cannot write "/work/gone.txt": if_match expected etag "${v2}" but the file no longer exists (current etag: none)`,
      ),
    });
    // The cause is the agent's own status (gRPC ABORTED = 10), not a rebuilt FAILED_PRECONDITION.
    await expect(write("/work/doc.txt", "lost", v1)).rejects.toMatchObject({
      code: "ETAG_MISMATCH",
      cause: { code: 10 },
    });
  });

  it("keeps a directory in the way a failed precondition, even with its current etag", async () => {
    const dir = (await files.mkdir(alice, runnerId, "/work/adir", { parents: true, mode: undefined })).etag;
    await expect(write("/work/adir", "x", dir)).rejects.toMatchObject({
      code: "FAILED_PRECONDITION",
      message: 'Cannot write "/work/adir": it is a directory; write to a path inside it, or remove it first.',
    });
  });
});
