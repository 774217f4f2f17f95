import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { credentials, status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AGENT_ENV } from "@devhatchery/proto/contract";
import { WatchEndReason, WatchServiceClient } from "@devhatchery/proto/agent/v1/watch";
import { closeWatch, followWatch, listWatches, startWatch, TEST_TOKEN } from "../../test/agent-harness.js";

/** The compiled agent (npm run build); it runs as its own process so the lowered limit applies to it alone. */
const AGENT_MAIN = new URL("../../dist/main.js", import.meta.url).pathname;
const MAX_WATCHES = 8;

/**
 * Starts the built agent in a new user namespace whose inotify watch limit is lowered to `maxWatches`. The limit
 * (/proc/sys/user/max_inotify_watches) belongs to that namespace, so nothing else on the machine is affected.
 */
function startAgentWithInotifyLimit(
  maxWatches: number,
  workDir: string,
): Promise<{ child: ChildProcess; port: number }> {
  const script = `echo ${maxWatches} > /proc/sys/user/max_inotify_watches && exec "$0" "$1"`;
  const child = spawn("unshare", ["--user", "--map-root-user", "sh", "-c", script, process.execPath, AGENT_MAIN], {
    env: {
      ...process.env,
      [AGENT_ENV.token]: TEST_TOKEN,
      [AGENT_ENV.host]: "127.0.0.1",
      [AGENT_ENV.port]: "0",
      [AGENT_ENV.debugPort]: "0",
      [AGENT_ENV.workDir]: workDir,
      // Keep exec spill files inside the test's directory instead of the host's /var/tmp.
      DEVHATCHERY_AGENT_EXEC_SPILL_DIR: `${workDir}/.spill`,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the agent did not start within 10 s: ${stderr}`)), 10_000);
    createInterface({ input: child.stdout! }).on("line", (line) => {
      const entry = JSON.parse(line) as { msg?: string; port?: number };
      if (entry.msg !== "runner agent listening") return;
      clearTimeout(timer);
      resolve({ child, port: entry.port! });
    });
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`the agent exited with ${code} before listening: ${stderr}`));
    });
  });
}

describe("the kernel's inotify watch limit (a real ENOSPC in a user namespace)", () => {
  let workDir: string;
  let child: ChildProcess | undefined;
  let client: WatchServiceClient;

  beforeAll(async () => {
    expect(existsSync(AGENT_MAIN), `${AGENT_MAIN} is missing: run npm run build first`).toBe(true);
    workDir = await mkdtemp(join(tmpdir(), "devhatchery-inotify-"));
    const agent = await startAgentWithInotifyLimit(MAX_WATCHES, workDir);
    child = agent.child;
    client = new WatchServiceClient(`127.0.0.1:${agent.port}`, credentials.createInsecure());
  });

  afterAll(async () => {
    client?.close();
    if (child && child.exitCode === null) {
      const exited = new Promise((resolve) => child!.once("exit", resolve));
      child.kill("SIGTERM");
      await exited;
    }
    await rm(workDir, { recursive: true, force: true });
  });

  const kernelLimit = (directory: string): string =>
    `Cannot watch "${directory}": the kernel's inotify watch limit is reached (fs.inotify.max_user_watches = ${MAX_WATCHES}, /proc/sys/fs/inotify/max_user_watches; ` +
    "shared by every process of the same user on the host, containers included). Narrow the path, add ignore patterns for large generated " +
    "directories, or raise the limit on the Docker host: sysctl fs.inotify.max_user_watches=524288.";

  it("refuses a tree needing more watches with RESOURCE_EXHAUSTED naming the limit, and holds none of them", async () => {
    for (let i = 0; i < 12; i += 1) mkdirSync(join(workDir, "big", `dir-${i}`), { recursive: true });
    const refused = startWatch(client, { path: "big" });
    await expect(refused).rejects.toMatchObject({ code: status.RESOURCE_EXHAUSTED });
    const details = ((await refused.catch((error: unknown) => error)) as { details: string }).details;
    const directory = /^Cannot watch "([^"]+)"/.exec(details)?.[1] ?? "";
    expect(directory).toMatch(new RegExp(`^${workDir}/big/dir-\\d+$`));
    expect(details).toBe(kernelLimit(directory));

    // Every watch of the refused tree was released: a tree of the whole budget fits.
    for (let i = 0; i < MAX_WATCHES - 1; i += 1) mkdirSync(join(workDir, "fits", `dir-${i}`), { recursive: true });
    expect((await startWatch(client, { path: "fits" })).watchedDirectories).toBe(MAX_WATCHES);
  });

  it("ends a watch whose new directory finds no inotify watch left with WATCH_LIMIT, then RESOURCE_EXHAUSTED", async () => {
    for (const watch of await listWatches(client)) await closeWatch(client, watch.watchId);
    for (let i = 0; i < MAX_WATCHES - 3; i += 1) mkdirSync(join(workDir, "grow", `dir-${i}`), { recursive: true });
    const watch = await startWatch(client, { path: "grow", debounceMs: 50 });
    expect(watch.watchedDirectories).toBe(MAX_WATCHES - 2);
    const follower = followWatch(client, { watchId: watch.watchId });
    await expect.poll(async () => (await listWatches(client))[0]?.readers, { timeout: 5_000 }).toBe(1);

    for (const name of ["new-a", "new-b", "new-c"]) mkdirSync(join(workDir, "grow", name));
    const ended = await follower.next((event) => event.event?.$case === "ended");
    expect(ended.event?.$case === "ended" && ended.event.value.reason).toBe(
      WatchEndReason.WATCH_END_REASON_WATCH_LIMIT,
    );
    const message = ended.event?.$case === "ended" ? ended.event.value.message : "";
    expect(message).toBe(kernelLimit(/^Cannot watch "([^"]+)"/.exec(message)?.[1] ?? ""));
    expect(message).toMatch(new RegExp(`^Cannot watch "${workDir}/grow/new-[abc]"`));
    expect(await follower.ended).toMatchObject({ code: status.RESOURCE_EXHAUSTED, details: message });
    expect((await listWatches(client))[0]).toMatchObject({ watchedDirectories: 0 });
  });
});
