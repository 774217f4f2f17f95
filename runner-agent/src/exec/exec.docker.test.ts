import { randomBytes } from "node:crypto";
import { credentials } from "@grpc/grpc-js";
import { GenericContainer, Wait, type StartedTestContainer } from "testcontainers";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  ExecServiceClient,
  ExecState,
  ExitReason,
  type ExecInfo,
  type ExecStartRequest,
} from "@devhatchery/proto/agent/v1/exec";
import {
  authMetadata,
  collectExec,
  execStartRequest,
  followExec,
  startProcess,
  unaryCall,
} from "../../test/agent-harness.js";

/** The offline test runner image built by images/build-test-images.sh (agent baked in, Debian base). */
const RUNNER_IMAGE = "devhatchery-test/runner:dev";
const MEMORY_LIMIT_GIB = 0.25;
/** Allocates and touches 16 MiB at a time until the kernel ends it. */
const MEMORY_HOG = ["/opt/devhatchery/bin/node", "-e", "const keep = []; for (;;) keep.push(Buffer.alloc(1 << 24, 1))"];

describe("exec in a real runner container", () => {
  const token = randomBytes(32).toString("base64url");
  let container: StartedTestContainer;
  let exec: ExecServiceClient;
  const metadata = () => authMetadata(token);

  beforeAll(async () => {
    container = await new GenericContainer(RUNNER_IMAGE)
      .withEnvironment({ DEVHATCHERY_AGENT_TOKEN: token })
      .withLabels({ "io.devhatchery.test": "exec-docker" })
      .withResourcesQuota({ memory: MEMORY_LIMIT_GIB })
      .withExposedPorts(7070)
      .withWaitStrategy(Wait.forLogMessage("runner agent listening"))
      .withPullPolicy({ shouldPull: () => false })
      .start();
    exec = new ExecServiceClient(`127.0.0.1:${container.getMappedPort(7070)}`, credentials.createInsecure());
  });

  afterAll(async () => {
    exec?.close();
    await container?.stop({ remove: true, timeout: 5_000 }).catch(() => undefined);
  });

  async function output(request: Partial<ExecStartRequest>): Promise<string> {
    const events = await collectExec(exec, request, metadata());
    return Buffer.concat(
      events.flatMap((event) => (event?.$case === "output" ? [Buffer.from(event.value.data)] : [])),
    ).toString();
  }

  async function exitOf(request: Partial<ExecStartRequest>) {
    const events = await collectExec(exec, request, metadata());
    const last = events.at(-1);
    if (last?.$case !== "exited") throw new Error(`the stream ended with ${last?.$case}`);
    return last.value;
  }

  it("reports a process the kernel killed for memory as oom_killed, directly or through a shell", async () => {
    expect(await exitOf({ argv: MEMORY_HOG })).toMatchObject({
      reason: ExitReason.EXIT_REASON_OOM_KILLED,
      signal: "SIGKILL",
      exitCode: undefined,
    });
    // The shell survives its child and reports it as exit code 137.
    const [node, flag, script] = MEMORY_HOG;
    expect(await exitOf({ shell: `${node} ${flag} '${script}'` })).toMatchObject({
      reason: ExitReason.EXIT_REASON_OOM_KILLED,
      exitCode: 137,
      signal: "",
    });
    // A SIGKILL with no new OOM kill in the runner's cgroup is just a signal.
    expect(await exitOf({ shell: "kill -KILL $$" })).toMatchObject({
      reason: ExitReason.EXIT_REASON_SIGNALED,
      signal: "SIGKILL",
    });
  });

  it("runs on a pty with the addon shipped beside the agent bundle, and resizes it", async () => {
    const call = exec.exec(
      execStartRequest({ shell: "stty size; read line; stty size", pty: { rows: 24, cols: 80 } }),
      metadata(),
    );
    const follower = followExec(call);
    const started = await follower.next((event) => event.$case === "started");
    const execId = started.$case === "started" ? started.value.execId : "";
    while (!follower.output().toString().includes("24 80\r\n")) await follower.next();
    await unaryCall((m, callback) => exec.resize({ execId, size: { rows: 40, cols: 120 } }, m, callback), metadata());
    await unaryCall(
      (m, callback) => exec.writeStdin({ execId, data: Buffer.from("go\n"), close: false }, m, callback),
      metadata(),
    );
    expect(await follower.ended).toBeUndefined();
    expect(follower.output().toString()).toBe("24 80\r\ngo\r\n40 120\r\n");
  });

  it("runs as users of the image's /etc/passwd, without root's supplementary groups, on pipes and on a pty", async () => {
    expect(await output({ shell: "useradd --create-home --uid 1234 dev && id -G" })).toBe("0\n");
    expect(await output({ shell: 'id -un; id -G; echo "$HOME"; pwd', user: "dev", cwd: "/home/dev" })).toBe(
      "dev\n1234\n/home/dev\n/home/dev\n",
    );
    expect(await output({ shell: "id -un; id -G", user: "dev", pty: { rows: 24, cols: 80 } })).toBe("dev\r\n1234\r\n");
    expect(await output({ shell: "id -u; id -g", user: "1234:100" })).toBe("1234\n100\n");
  });

  it("spills long output to the default spill directory on the container's disk and replays it from there", async () => {
    const info: ExecInfo = await startProcess(exec, { shell: "head -c 5000000 /dev/zero | tr '\\0' x" }, metadata());
    const ended = await (async () => {
      for (let attempt = 0; attempt < 500; attempt++) {
        const { exec: current } = await unaryCall<{ exec?: ExecInfo }>(
          (m, callback) => exec.get({ execId: info.execId }, m, callback),
          metadata(),
        );
        if (current?.state === ExecState.EXEC_STATE_EXITED && current.output?.memoryBytes === 0) return current;
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      throw new Error("the process did not end and spill within 10 s");
    })();
    expect(ended.output).toMatchObject({ endCursor: 5_000_000, spilledBytes: 5_000_000 });
    expect(await output({ shell: `ls /var/tmp/devhatchery-agent/exec/${info.execId} | wc -l` })).not.toBe("0\n");
    const replay = followExec(exec.attach({ execId: info.execId, cursor: 4_999_990, keepaliveMs: 0 }, metadata()));
    expect(await replay.ended).toBeUndefined();
    expect(replay.output().toString()).toBe("xxxxxxxxxx");
  });
});
