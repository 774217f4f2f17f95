import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { CallToolResultSchema, CreateTaskResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker, removeTestRunners } from "../../control-plane/test/docker-cleanup.js";
import { startControlPlane, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { createBareRepository, startGitDaemon, startGitHttpServer } from "../support/git-server.js";
import { callTool, connectClient } from "../support/mcp-client.js";
import { eventually, fails, ok, sh, testIdentities } from "../support/runners-fixture.js";

const JOB_IMAGE = "devhatchery-test/job-agent:dev";

type Job = Record<string, unknown>;

/**
 * One-shot agent jobs through a real MCP client on real Docker: a stand-in agent CLI (images/test-job-agent) in a
 * runner clones a repository served by a local git server, reads its secrets from files, edits the clone and writes
 * a result; the job returns the diff, the result and the artifacts and leaves nothing behind. Secrets never appear
 * in the environment, docker inspect, logs, the audit log, snapshots or the output.
 */
describe("jobs", () => {
  const { principals, network, env: identities } = testIdentities("jobs", ["alice", "bob"]);
  const [alice, bob] = principals as [(typeof principals)[number], (typeof principals)[number]];
  const secret = `s3cr3t-${randomBytes(16).toString("hex")}`;
  const operatorSecret = `op-${randomBytes(16).toString("hex")}`;
  const gitPassword = `pw-${randomBytes(12).toString("hex")}`;
  const servers: ControlPlaneProcess[] = [];
  const clients: Client[] = [];
  const closers: Array<() => Promise<void>> = [];
  let base = "";
  let env: Record<string, string> = {};
  let server: ControlPlaneProcess;
  let mcp: Client;
  let other: Client;
  let repoUrl = "";
  let privateUrl = "";
  let head = "";

  async function start(): Promise<void> {
    server = await startControlPlane(env);
    servers.push(server);
    mcp = await connectClient(server.url, alice.token);
    other = await connectClient(server.url, bob.token);
    clients.push(mcp, other);
  }

  /** Every place a secret must never be: the control plane's log, its audit log and its state folder (state.db, job output). */
  async function assertNoSecretsLeaked(): Promise<void> {
    const logs = servers.map((running) => running.logs()).join("\n");
    const audit = await readFile(env.DEVHATCHERY_AUDIT_LOG!, "utf8").catch(() => "");
    const stateFiles = (await readdir(env.DEVHATCHERY_STATE_DIR!, { recursive: true, withFileTypes: true }))
      .filter((entry) => entry.isFile())
      .map((entry) => join(entry.parentPath, entry.name));
    const state = Buffer.concat(
      await Promise.all(stateFiles.map((file) => readFile(file).catch(() => Buffer.alloc(0)))),
    );
    expect(stateFiles.some((file) => file.endsWith("state.db"))).toBe(true);
    for (const value of [secret, operatorSecret, gitPassword]) {
      expect(logs.includes(value), "a secret in the control plane's log").toBe(false);
      expect(audit.includes(value), "a secret in the audit log").toBe(false);
      expect(state.includes(value), "a secret in the state folder").toBe(false);
    }
  }

  async function runnersOf(principal: string): Promise<string[]> {
    const containers = await docker.listContainers({
      all: true,
      filters: { label: [`io.devhatchery.owner=${principal}`] },
    });
    return containers.map((container) => container.Labels["io.devhatchery.runner"] ?? "");
  }

  async function volumesOf(principal: string): Promise<string[]> {
    const { Volumes } = await docker.listVolumes({ filters: { label: [`io.devhatchery.owner=${principal}`] } });
    return (Volumes ?? []).map((volume) => volume.Name);
  }

  async function jobEnded(client: Client, jobId: string, timeoutMs = 60_000): Promise<Job> {
    return eventually(
      `job ${jobId} to end`,
      async () => {
        const job = await ok(client, "job_get", { job: jobId });
        return ["succeeded", "failed", "timed_out", "cancelled"].includes(job.status as string) ? job : undefined;
      },
      timeoutMs,
    );
  }

  beforeAll(async () => {
    base = await mkdtemp(join(tmpdir(), "devhatchery-e2e-jobs-"));
    await writeFile(join(base, "operator-secret"), `${operatorSecret}\n`, { mode: 0o600 });
    const config = join(base, "devhatchery.yaml");
    await writeFile(
      config,
      [
        "jobs:",
        "  max_concurrent: 3",
        "  keep_for_s: 600",
        "  secrets:",
        "    - name: e2e-key",
        `      file: ${join(base, "operator-secret")}`,
        `      principals: ["${alice.id}"]`,
        "  profiles:",
        "    - name: stand-in",
        `      image: ${JOB_IMAGE}`,
        '      command: ["devhatchery-stand-in-agent", "{task_file}"]',
        "      secrets:",
        "        - name: OPERATOR_KEY",
        "          from: e2e-key",
        "    - name: stand-in-bare",
        `      image: ${JOB_IMAGE}`,
        '      command: ["devhatchery-stand-in-agent"]',
        "",
      ].join("\n"),
    );
    env = {
      ...identities,
      DEVHATCHERY_CONFIG: config,
      DEVHATCHERY_INSTANCE: `e2e-jobs-${randomBytes(3).toString("hex")}`,
      DEVHATCHERY_STATE_DIR: join(base, "state"),
      DEVHATCHERY_AUDIT_LOG: join(base, "audit.jsonl"),
      DEVHATCHERY_LOG_LEVEL: "debug",
    };
    await start();
    // The runner network exists once a runner was spawned: the git servers listen on its gateway, the one host
    // address runners reach.
    const first = await ok(mcp, "runner_spawn", { storage: "tmpfs" });
    await ok(mcp, "runner_remove", { runner: first.runner_id });
    const gateway = await eventually("the runner network", async () => {
      const info = (await docker
        .getNetwork(network)
        .inspect()
        .catch(() => undefined)) as { IPAM?: { Config?: Array<{ Gateway?: string }> } } | undefined;
      return info?.IPAM?.Config?.[0]?.Gateway;
    });
    const repos = join(base, "repos");
    await mkdir(repos);
    const project = await createBareRepository(
      repos,
      { "README.md": "# project\n", "src/app.txt": "app v1\n" },
      { name: "project" },
    );
    head = project.head;
    await createBareRepository(repos, { "SECRET.md": "private repository\n" }, { name: "private" });
    const daemon = await startGitDaemon({ baseDir: repos, host: gateway });
    closers.push(daemon.close);
    repoUrl = daemon.url("project");
    const http = await startGitHttpServer({ baseDir: repos, host: gateway, username: "e2e", password: gitPassword });
    closers.push(http.close);
    privateUrl = http.url("private");
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    for (const running of servers) await running.stop().catch(() => undefined);
    for (const close of closers) await close().catch(() => undefined);
    await removeTestRunners([alice.id, bob.id], network);
    for (const image of await docker.listImages({ filters: { label: [`io.devhatchery.owner=${alice.id}`] } }))
      await docker
        .getImage(image.Id)
        .remove({ force: true })
        .catch(() => undefined);
    if (base) await rm(base, { recursive: true, force: true });
  });

  it("clones a repository, runs the agent with secrets only as files, streams its output, returns the diff, the result and the artifacts, and cleans up", async () => {
    const task = [
      "print starting work",
      "secret API_KEY",
      "secret OPERATOR_KEY",
      "write src/new.txt hello from the agent",
      "append README.md more",
      "delete src/app.txt",
      "print finished",
    ].join("\n");
    const {
      result,
      progress,
      structured: job,
    } = await callTool(mcp, "job_run", {
      profile: "stand-in",
      task,
      repository: { url: repoUrl },
      secrets: { API_KEY: secret },
      artifacts: ["src/**"],
    });
    expect(result.isError, JSON.stringify(result)).toBeFalsy();
    expect(job).toMatchObject({
      status: "succeeded",
      exit_code: 0,
      reason: "exited",
      profile: "stand-in",
      base_commit: head,
      result: { directives: 7, secrets_read: ["API_KEY", "OPERATOR_KEY"], exit_code: 0 },
    });
    expect(job.changed_files).toEqual([
      { path: "README.md", status: "M" },
      { path: "src/app.txt", status: "D" },
      { path: "src/new.txt", status: "A" },
    ]);
    expect(job.diff).toContain("+hello from the agent");
    expect(job.diff).toContain("-app v1");
    expect(job.output_tail).toContain("agent: done");
    // Streamed: the agent's own lines and the phases arrived as progress while it ran.
    const messages = progress.map((notification) => notification.message ?? "").join("\n");
    expect(messages).toContain("starting work");
    expect(messages).toMatch(/cloning git:\/\//);
    expect(messages).toMatch(/^running: /m);
    // The whole output, replayed by cursor: secrets reported by digest only.
    const output = await ok(mcp, "job_get", { job: job.job_id, output_cursor: 0 });
    const text = (output.output as { text: string; eof: boolean }).text;
    expect(output.output).toMatchObject({ cursor: 0, eof: true });
    expect(text).toMatch(/agent: secret API_KEY has \d+ bytes, sha256 [0-9a-f]{64}/);
    expect(text).not.toContain(secret);
    // The artifacts: one archive in the export root with the files asked for, the patch and the result.
    const artifacts = job.artifacts as { path: string; files: number; name: string };
    expect(artifacts.name).toBe(`${String(job.job_id)}-artifacts.tar.gz`);
    expect(artifacts.files).toBe(3);
    const exports = (await ok(mcp, "export_list")).exports as Array<Record<string, unknown>>;
    expect(exports.map((entry) => entry.name)).toContain(artifacts.name);
    // Nothing left: no runner, no workspace volume.
    expect(await runnersOf(alice.id)).toEqual([]);
    expect(await volumesOf(alice.id)).toEqual([]);
    const listed = (await ok(mcp, "job_list")).jobs as Job[];
    expect(listed.map((entry) => entry.job_id)).toContain(job.job_id);
    expect(listed.find((entry) => entry.job_id === job.job_id)?.diff).toBeUndefined();
    await assertNoSecretsLeaked();
  });

  it("puts secrets in private files only (not the environment, docker inspect or a snapshot), redacts them from output, and keeps the runner without them when asked", async () => {
    const script = [
      'stat -c "%a %U" "$DEVHATCHERY_SECRETS_DIR" "$DEVHATCHERY_SECRETS_DIR/API_KEY"',
      'echo "env matches: $(env | grep -c -F -f "$DEVHATCHERY_SECRETS_DIR/API_KEY")"',
      'echo "proc matches: $(cat /proc/1/environ | tr "\\0" "\\n" | grep -c -F -f "$DEVHATCHERY_SECRETS_DIR/API_KEY")"',
      'echo "leak: $(cat "$DEVHATCHERY_SECRETS_DIR/API_KEY")"',
      "echo kept > /work/kept.txt",
      "sleep 2",
    ].join("\n");
    const submitted = await ok(mcp, "job_run", {
      task: script,
      secrets: { API_KEY: secret },
      keep: true,
      wait: false,
    });
    const jobId = submitted.job_id as string;
    // While it runs, the engine knows nothing of the secret.
    const runnerId = await eventually("the job's runner", async () => {
      const job = await ok(mcp, "job_get", { job: jobId });
      return job.status === "running" ? (job.runner_id as string) : undefined;
    });
    const inspect = JSON.stringify(await docker.getContainer(`devhatchery-${runnerId}`).inspect());
    expect(inspect).not.toContain(secret);
    const job = await jobEnded(mcp, jobId);
    expect(job).toMatchObject({ status: "succeeded", runner_id: runnerId });
    const tail = job.output_tail as string;
    expect(tail).toMatch(/^700 root\n400 root$/m);
    expect(tail).toContain("env matches: 0");
    expect(tail).toContain("proc matches: 0");
    // Printed on purpose by the job, and still redacted.
    expect(tail).toContain("leak: [secret API_KEY]");
    expect(tail).not.toContain(secret);
    // Kept: reachable by the job id as alias, /work intact, the job folder with the secrets gone.
    expect(job.kept_until).toEqual(expect.any(String));
    expect(await sh(mcp, jobId, "cat /work/kept.txt")).toBe("kept\n");
    expect(await sh(mcp, jobId, "ls -A /dev/shm")).toBe("");
    const snapshot = await ok(mcp, "snapshot_create", { runner: jobId, name: `job-${randomBytes(3).toString("hex")}` });
    const image = await docker.getImage(snapshot.image as string).inspect();
    expect(JSON.stringify(image)).not.toContain(secret);
    const history = await docker.getImage(snapshot.image as string).history();
    expect(JSON.stringify(history)).not.toContain(secret);
    await ok(mcp, "runner_remove", { runner: jobId });
    await ok(mcp, "snapshot_remove", { snapshot: snapshot.snapshot_id });
    await assertNoSecretsLeaked();
  });

  it("clones a private repository over http with a credential secret, and reports a wrong one as clone_failed", async () => {
    const cloned = await ok(mcp, "job_run", {
      task: "cat SECRET.md",
      repository: { url: privateUrl, credential: "GIT_TOKEN", username: "e2e" },
      secrets: { GIT_TOKEN: gitPassword },
      image: JOB_IMAGE,
    });
    expect(cloned).toMatchObject({ status: "succeeded", changed_files: [] });
    expect(cloned.output_tail).toContain("private repository");
    const refused = await ok(mcp, "job_run", {
      task: "true",
      repository: { url: privateUrl, credential: "GIT_TOKEN", username: "e2e" },
      secrets: { GIT_TOKEN: "wrong-password" },
      image: JOB_IMAGE,
    });
    expect(refused).toMatchObject({ status: "failed", reason: "clone_failed" });
    expect(refused.message).toMatch(
      /Cloning http:\/\/.* failed: .*(Authentication failed|401|could not read Username)/i,
    );
    // Credentials in the URL are refused before anything starts.
    const inUrl = privateUrl.replace("http://", `http://e2e:${gitPassword}@`);
    expect(await fails(mcp, "job_run", { task: "true", repository: { url: inUrl } })).toMatch(
      /carries credentials; put the password or token in a secret/,
    );
    // Local paths, other schemes and option-shaped refs are refused before anything starts.
    expect(await fails(mcp, "job_run", { task: "true", repository: { url: "file:///etc" } })).toMatch(
      /only https, http and git URLs can be cloned/,
    );
    expect(await fails(mcp, "job_run", { task: "true", repository: { url: "ext::sh -c id" } })).toMatch(
      /INVALID_ARGUMENT/,
    );
    expect(
      await fails(mcp, "job_run", { task: "true", repository: { url: repoUrl, ref: "--upload-pack=touch /tmp/x" } }),
    ).toMatch(/ref must be a branch, tag or commit name/);
    // A commit the repository does not have: clone_failed, naming it.
    const badRef = await ok(mcp, "job_run", {
      task: "true",
      repository: { url: repoUrl, ref: "no-such-branch" },
      image: JOB_IMAGE,
    });
    expect(badRef).toMatchObject({ status: "failed", reason: "clone_failed" });
    expect(badRef.message).toContain("no-such-branch");
    expect(await runnersOf(alice.id)).toEqual([]);
    await assertNoSecretsLeaked();
  });

  it("kills a job at its timeout (also an agent that ignores SIGTERM) and reports timed_out", async () => {
    const started = Date.now();
    const job = await ok(mcp, "job_run", {
      profile: "stand-in-bare",
      task: "ignore-term\nprint waiting\nsleep 60",
      timeout_s: 3,
    });
    expect(job).toMatchObject({ status: "timed_out", reason: "timed_out" });
    expect(job.output_tail).toContain("waiting");
    expect(Date.now() - started).toBeLessThan(45_000);
    expect(await runnersOf(alice.id)).toEqual([]);
  });

  it("cancels a running job; other principals see and cancel nothing of them", async () => {
    const running = await ok(mcp, "job_run", { profile: "stand-in-bare", task: "print begun\nsleep 120", wait: false });
    const jobId = running.job_id as string;
    await eventually("the job to run", async () => {
      const job = await ok(mcp, "job_get", { job: jobId, output_cursor: 0, wait_ms: 1000 });
      return (job.output as { text: string }).text.includes("begun") ? true : undefined;
    });
    // Bob knows the id and still finds nothing.
    expect(await fails(other, "job_get", { job: jobId })).toMatch(/NOT_FOUND/);
    expect(await fails(other, "job_cancel", { job: jobId })).toMatch(/NOT_FOUND/);
    expect(((await ok(other, "job_list")).jobs as Job[]).map((job) => job.job_id)).not.toContain(jobId);
    // Bob may not use alice's operator secret (nor learn whether it exists).
    expect(await fails(other, "job_run", { profile: "stand-in", task: "true" })).toMatch(
      /PERMISSION_DENIED.*no operator secret "e2e-key" is available to you/,
    );
    const cancelled = await ok(mcp, "job_cancel", { job: jobId });
    expect(cancelled).toMatchObject({ status: "cancelled", reason: "cancelled" });
    expect(await runnersOf(alice.id)).toEqual([]);
    // Ended: cancelling again changes nothing.
    expect(await ok(mcp, "job_cancel", { job: jobId })).toMatchObject({ status: "cancelled" });
  });

  it("runs 5 jobs at once within max_concurrent 3, the rest queued with their position (a queued one cancels), each in its own runner", async () => {
    const submitted: string[] = [];
    for (let index = 0; index < 5; index++) {
      const job = await ok(mcp, "job_run", {
        task: `sleep 3; echo job ${index} > /work/out.txt; cat /work/out.txt`,
        wait: false,
      });
      submitted.push(job.job_id as string);
    }
    const queued = await ok(mcp, "job_get", { job: submitted[4] });
    expect(queued).toMatchObject({ status: "queued", queue_position: expect.any(Number) });
    expect(queued.message).toMatch(/^queued: position \d of \d$/);
    const status = await ok(mcp, "system_status");
    expect(status.jobs).toMatchObject({ max_concurrent: 3, running: 3 });
    // A queued job cancelled never starts, and the queue closes up behind it.
    const extra = await ok(mcp, "job_run", { task: "echo never", wait: false });
    expect(extra).toMatchObject({ status: "queued", queue_position: 3 });
    expect(await ok(mcp, "job_cancel", { job: extra.job_id })).toMatchObject({
      status: "cancelled",
      message: "Cancelled while queued; it never started.",
    });
    expect(extra.runner_id).toBeUndefined();
    const ended = await Promise.all(submitted.map((jobId) => jobEnded(mcp, jobId, 120_000)));
    ended.forEach((job, index) => {
      expect(job).toMatchObject({ status: "succeeded" });
      expect(job.output_tail).toBe(`job ${index}\n`);
    });
    expect(new Set(ended.map((job) => job.runner_id)).size).toBe(5);
    expect(await runnersOf(alice.id)).toEqual([]);
  });

  it("runs as an MCP task (tasks/cancel cancels the job), and a job the control plane died under ends cancelled with its runner removed", async () => {
    const created = await mcp.request(
      {
        method: "tools/call",
        params: {
          name: "job_run",
          arguments: { task: "echo from a task", secrets: { API_KEY: secret } },
          task: { ttl: 600_000 },
        },
      },
      CreateTaskResultSchema,
    );
    const taskId = created.task.taskId;
    await eventually(
      "the task to complete",
      async () => ((await mcp.experimental.tasks.getTask(taskId)).status === "working" ? undefined : true),
      60_000,
    );
    const result = await mcp.experimental.tasks.getTaskResult(taskId, CallToolResultSchema);
    expect(result.structuredContent).toMatchObject({ status: "succeeded", output_tail: "from a task\n" });

    // tasks/cancel cancels the job behind the task.
    const long = await mcp.request(
      {
        method: "tools/call",
        params: { name: "job_run", arguments: { task: "sleep 300" }, task: { ttl: 600_000 } },
      },
      CreateTaskResultSchema,
    );
    const taskJob = await eventually("the task's job to run", async () => {
      const running = (await ok(mcp, "job_list", { status: "running" })).jobs as Job[];
      return running[0]?.job_id as string | undefined;
    });
    await mcp.experimental.tasks.cancelTask(long.task.taskId);
    expect(await jobEnded(mcp, taskJob)).toMatchObject({ status: "cancelled", reason: "cancelled" });

    const orphan = await ok(mcp, "job_run", { task: "echo before; sleep 300", wait: false });
    const jobId = orphan.job_id as string;
    const runnerId = await eventually("the job to run", async () => {
      const job = await ok(mcp, "job_get", { job: jobId });
      return job.status === "running" ? (job.runner_id as string) : undefined;
    });
    await server.kill();
    await start();
    const recovered = await eventually("the job to be recovered", async () => {
      const job = await ok(mcp, "job_get", { job: jobId });
      return job.status === "cancelled" ? job : undefined;
    });
    expect(recovered).toMatchObject({ reason: "control_plane_restart" });
    expect(recovered.message).toMatch(
      /control plane restarted while this job was running; it was cancelled and its runner removed/,
    );
    expect(await runnersOf(alice.id)).not.toContain(runnerId);
    await assertNoSecretsLeaked();
  });
});
