import { randomBytes } from "node:crypto";
import { credentials } from "@grpc/grpc-js";
import { GenericContainer, getContainerRuntimeClient, Wait, type StartedTestContainer } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ChangeKind, WatchEndReason, WatchServiceClient } from "@devhatchery/proto/agent/v1/watch";
import {
  authMetadata,
  changesIn,
  changesUntil,
  closeWatch,
  followWatch,
  listWatches,
  startWatch,
  summarizeChanges,
} from "../../test/agent-harness.js";

/** The offline test runner image built by images/build-test-images.sh (agent baked in, Debian base). */
const RUNNER_IMAGE = "devhatchery-test/runner:dev";
const {
  CHANGE_KIND_CREATED: CREATED,
  CHANGE_KIND_MODIFIED: MODIFIED,
  CHANGE_KIND_DELETED: DELETED,
  CHANGE_KIND_RENAMED: RENAMED,
} = ChangeKind;

describe("watches in a real runner container", () => {
  const token = randomBytes(32).toString("base64url");
  let container: StartedTestContainer;
  let client: WatchServiceClient;
  const metadata = () => authMetadata(token);

  /** Runs a shell command in the container, as the user's own processes would change files. */
  const sh = async (command: string): Promise<string> => {
    const { exitCode, output } = await container.exec(["sh", "-c", command]);
    if (exitCode !== 0) throw new Error(`"${command}" exited with ${exitCode}: ${output}`);
    return output;
  };

  beforeAll(async () => {
    container = await new GenericContainer(RUNNER_IMAGE)
      .withEnvironment({ DEVHATCHERY_AGENT_TOKEN: token })
      .withLabels({ "io.devhatchery.test": "watch-docker" })
      .withTmpFs({ "/scratch": "rw,size=16m" })
      .withExposedPorts(7070)
      .withWaitStrategy(Wait.forLogMessage("runner agent listening"))
      .withPullPolicy({ shouldPull: () => false })
      .start();
    client = new WatchServiceClient(`127.0.0.1:${container.getMappedPort(7070)}`, credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    if (!container) return;
    // The last test stops the container itself; remove it whether it still runs or not.
    const runtime = await getContainerRuntimeClient();
    await runtime.container.getById(container.getId()).remove({ force: true, v: true });
  });

  describe.each([
    { place: "/work (the image's overlayfs)", base: "/work/project", filesystem: "overlayfs" },
    { place: "a tmpfs", base: "/scratch/project", filesystem: "tmpfs" },
  ])("on $place", ({ base, filesystem }) => {
    it(`is on ${filesystem}`, async () => {
      await sh(`mkdir -p ${base}`);
      expect((await sh(`stat -f -c %T ${base}`)).trim()).toBe(filesystem);
    });

    it("reports creations, modifications, renames and deletions, and skips node_modules without watching it", async () => {
      await sh(
        `mkdir -p ${base}/src ${base}/node_modules/dep/lib && echo one > ${base}/src/a.ts && echo old > ${base}/src/b.ts && echo 'dist/' > ${base}/.gitignore`,
      );
      const watch = await startWatch(client, { path: base, debounceMs: 100 }, metadata());
      expect(watch).toMatchObject({ path: base, watchedDirectories: 2 });
      const follower = followWatch(client, { watchId: watch.watchId }, metadata());
      try {
        await sh(
          `echo x > ${base}/node_modules/dep/lib/index.js && mkdir -p ${base}/dist/assets && echo x > ${base}/dist/app.js && mkdir ${base}/src/lib && echo c > ${base}/src/lib/c.ts`,
        );
        expect(summarizeChanges(await changesUntil(follower, "src/lib/c.ts"))).toEqual([
          [CREATED, "src/lib"],
          [CREATED, "src/lib/c.ts"],
        ]);
        await sh(`echo two >> ${base}/src/a.ts`);
        expect(summarizeChanges(await changesUntil(follower, "src/a.ts"))).toEqual([[MODIFIED, "src/a.ts"]]);
        await sh(`mv ${base}/src/b.ts ${base}/src/renamed.ts`);
        expect(summarizeChanges(await changesUntil(follower, "src/renamed.ts"))).toEqual([
          [RENAMED, "src/renamed.ts", "src/b.ts"],
        ]);
        await sh(`rm ${base}/src/renamed.ts`);
        expect(summarizeChanges(await changesUntil(follower, "src/renamed.ts"))).toEqual([[DELETED, "src/renamed.ts"]]);
        expect((await listWatches(client, metadata()))[0]?.watchedDirectories).toBe(3);
      } finally {
        follower.cancel();
        await closeWatch(client, watch.watchId, metadata());
      }
    });

    it("ends the watch when the watched directory is deleted", async () => {
      const watch = await startWatch(client, { path: base, debounceMs: 100 }, metadata());
      const follower = followWatch(client, { watchId: watch.watchId }, metadata());
      try {
        await sh(`rm -rf ${base}`);
        const ended = await follower.next((event) => event.event?.$case === "ended");
        expect(ended.event).toMatchObject({
          $case: "ended",
          value: { reason: WatchEndReason.WATCH_END_REASON_ROOT_DELETED },
        });
        expect(follower.events.flatMap(changesIn).find((change) => change.path === "")).toMatchObject({
          kind: DELETED,
          absolutePath: base,
        });
        expect(await follower.ended).toBeUndefined();
      } finally {
        await closeWatch(client, watch.watchId, metadata());
      }
    });
  });

  it("closes every watch when the agent stops, and says so in its log", async () => {
    await sh("mkdir -p /work/last");
    const watch = await startWatch(client, { path: "/work/last" }, metadata());
    const follower = followWatch(client, { watchId: watch.watchId }, metadata());
    await expect.poll(async () => (await listWatches(client, metadata()))[0]?.readers, { timeout: 5_000 }).toBe(1);
    await container.stop({ remove: false, timeout: 10_000 });
    const ended = await follower.next((event) => event.event?.$case === "ended");
    expect(ended.event).toMatchObject({ $case: "ended", value: { reason: WatchEndReason.WATCH_END_REASON_SHUTDOWN } });
    const logs = await new Promise<string>((resolve) => {
      let text = "";
      container
        .logs()
        .then((stream) => {
          stream.on("data", (chunk: Buffer) => (text += chunk.toString()));
          stream.on("end", () => resolve(text));
        })
        .catch(() => resolve(text));
    });
    expect(logs).toContain(`"watch":"${watch.watchId}","reason":"shutdown","msg":"watch ended"`);
    expect(logs).toContain('"msg":"runner agent stopped"');
  });
});
