import { randomBytes } from "node:crypto";
import type { CallToolResult, Progress } from "@modelcontextprotocol/sdk/types.js";
import type Docker from "dockerode";
import { latencyTable, ratio } from "../bench-table.ts";
import { startMcpFixture, type McpFixture } from "../mcp-fixture.ts";
import type { Scenario } from "../scenario.ts";
import { formatMs, summarize } from "../stats.ts";
import { removeByLabel } from "./spawn-ready.ts";

const IMAGE = "devhatchery-test/runner:dev";
const BENCH_LABEL = "io.devhatchery.bench";
/** The job: the built-in shell profile runs `true` in a runner of the fixture's default image, /work in memory. */
const JOB = { task: "true", storage: "tmpfs", wait: true };
/** The context path: the same runner by hand, `true` in it, then removed. */
const SPAWN = { image: IMAGE, storage: "tmpfs" };
const CALL_TIMEOUT_MS = 180_000;
/** The job's last status: its notification is sent once the runner is removed. */
const ENDED = "succeeded";

/** One `job_run` as the client saw it: wall time, when each status arrived (ms from the call's start), the job's times. */
interface JobSample {
  ms: number;
  statusAt: Map<string, number>;
  durationMs: number;
  /** ended_at − started_at as the server stamped them (ms resolution): the job's run plus its runner's removal. */
  serverMs: number;
}

/** `job_run` through the SDK client, its status progress notifications timed as they arrive. */
async function timedJob(fixture: McpFixture): Promise<JobSample> {
  const statusAt = new Map<string, number>();
  const started = performance.now();
  const result = (await fixture.client.callTool({ name: "job_run", arguments: JOB }, undefined, {
    timeout: CALL_TIMEOUT_MS,
    onprogress: (progress: Progress) => {
      // The SDK hands over the notification's params: _meta included, though Progress does not declare it.
      const kind = (progress as { _meta?: Record<string, unknown> })._meta?.["io.devhatchery/kind"];
      const status = /^([a-z_]+): /.exec(progress.message ?? "")?.[1];
      if (kind !== "output" && status && !statusAt.has(status)) statusAt.set(status, performance.now() - started);
    },
  })) as CallToolResult;
  const ms = performance.now() - started;
  const job = (result.structuredContent ?? {}) as Record<string, unknown>;
  if (result.isError || job.status !== ENDED)
    throw new Error(
      `job_run ${JSON.stringify(JOB)} did not succeed: ${
        result.isError
          ? result.content.map((item) => (item.type === "text" ? item.text : item.type)).join(" ")
          : JSON.stringify(job)
      }`,
    );
  return {
    ms,
    statusAt,
    durationMs: Number(job.duration_ms),
    serverMs: Date.parse(String(job.ended_at)) - Date.parse(String(job.started_at)),
  };
}

/** runner_spawn, exec `true` and runner_remove through the SDK client: each call's time in ms. */
async function timedByHand(fixture: McpFixture): Promise<{ spawn: number; exec: number; remove: number }> {
  const at0 = performance.now();
  const runner = (await fixture.call("runner_spawn", SPAWN)).runner_id as string;
  const at1 = performance.now();
  const exec = await fixture.call("exec", { runner, command: ["true"] });
  const at2 = performance.now();
  await fixture.call("runner_remove", { runner });
  const at3 = performance.now();
  if (exec.exit_code !== 0) throw new Error(`exec true in a runner exited ${JSON.stringify(exec)}`);
  return { spawn: at1 - at0, exec: at2 - at1, remove: at3 - at2 };
}

/**
 * `docker run --rm --entrypoint true` through the Engine API, as the CLI does it: create (AutoRemove), wait for
 * "removed" (asked before the start, so the removal cannot be missed), start, then the wait returns.
 */
async function dockerRunRm(docker: Docker, create: Docker.ContainerCreateOptions): Promise<void> {
  const container = await docker.createContainer(create);
  const removed = container.wait({ condition: "removed" }).then(
    (answer: { StatusCode?: number }) => answer.StatusCode ?? -1,
    // Gone before the wait reached the engine: it ran and was removed (its exit code is lost with it).
    (error: { statusCode?: number }) => {
      if (error.statusCode === 404) return 0;
      throw error;
    },
  );
  try {
    await container.start();
  } catch (error) {
    await container.remove({ force: true }).catch(() => undefined);
    await removed.catch(() => undefined);
    throw error;
  }
  const exitCode = await removed;
  if (exitCode !== 0) throw new Error(`docker run --rm ${create.Image} true exited ${exitCode}`);
}

/** The peer's container: the job runner's settings (network, init, limits, tmpfs, user, security), `true` as its entrypoint. */
function peerCreate(info: Docker.ContainerInspectInfo, network: string, label: string): Docker.ContainerCreateOptions {
  const host = info.HostConfig;
  return {
    Image: IMAGE,
    Entrypoint: ["true"],
    User: info.Config.User,
    WorkingDir: "/work",
    Labels: { [BENCH_LABEL]: label },
    HostConfig: {
      AutoRemove: true,
      NetworkMode: network,
      Init: host.Init ?? undefined,
      Tmpfs: host.Tmpfs,
      Memory: host.Memory,
      NanoCpus: host.NanoCpus,
      PidsLimit: host.PidsLimit,
      CapDrop: host.CapDrop,
      SecurityOpt: host.SecurityOpt,
    },
  };
}

function signedMs(value: number): string {
  return `${value < 0 ? "−" : "+"}${formatMs(Math.abs(value))}`;
}

/** A phase of the job as the client saw it: from one status notification (or the call's start) to the next. */
function between(samples: JobSample[], from: string | undefined, to: string | undefined): number[] {
  return samples.map((sample) => {
    const end = to === undefined ? sample.ms : sample.statusAt.get(to);
    const start = from === undefined ? 0 : sample.statusAt.get(from);
    if (end === undefined || start === undefined)
      throw new Error(
        `job_run sent no "${end === undefined ? to : from}" status notification (got ${[...sample.statusAt.keys()].join(", ")})`,
      );
    return end - start;
  });
}

/** `job_run` of `true` against `docker run --rm` of the same container, and the same runner spawned, used and removed by hand. */
export const jobRoundTrip: Scenario = {
  title: "Job round trip of `true`",
  async run(options, signal) {
    const fixture = await startMcpFixture(IMAGE, "job");
    const label = randomBytes(4).toString("hex");
    const jobs: JobSample[] = [];
    const peer: number[] = [];
    const byHand: Array<{ spawn: number; exec: number; remove: number }> = [];
    try {
      // Warm-up: spawn, exec and remove by hand (it creates the runner network too), taking from that runner the
      // container settings the peer copies; then one untimed job and one peer run, left out of a smoke run for time.
      const model = (await fixture.call("runner_spawn", SPAWN)).runner_id as string;
      const create = peerCreate((await fixture.direct(model)).info, fixture.network, label);
      await fixture.call("exec", { runner: model, command: ["true"] });
      await fixture.call("runner_remove", { runner: model });
      if (!options.smoke) {
        await timedJob(fixture);
        await dockerRunRm(fixture.docker, create);
      }
      for (let i = 0; i < options.jobSamples; i++) {
        // Runs alternate; each one starts with nothing of the others left on the engine.
        signal.throwIfAborted();
        jobs.push(await timedJob(fixture));
        const started = performance.now();
        await dockerRunRm(fixture.docker, create);
        peer.push(performance.now() - started);
        byHand.push(await timedByHand(fixture));
      }
    } finally {
      await removeByLabel(fixture.docker, label);
      await fixture.close();
    }
    const job = summarize(jobs.map((sample) => sample.ms));
    const run = summarize(peer);
    const hand = summarize(byHand.map((sample) => sample.spawn + sample.exec + sample.remove));
    const duration = summarize(jobs.map((sample) => sample.durationMs));
    const removal = summarize(jobs.map((sample) => sample.serverMs - sample.durationMs));
    return {
      lines: [
        `\`job_run\` ${JSON.stringify(JOB)} through the SDK client until its result returns: the built-in shell profile ` +
          `runs \`/bin/sh -lc true\` in a fresh runner of \`${IMAGE}\` (the server's default image; no pool, so a cold ` +
          "spawn), collects the result and removes the runner before it returns. Peer = `docker run --rm --entrypoint " +
          "true` of the same image through the Engine API (create with AutoRemove, wait for `removed`, start) with the " +
          "job runner's settings (network, init, limits, tmpfs /work, user, security options): the floor for a container " +
          "that runs one command and is gone. By hand = `runner_spawn` " +
          `${JSON.stringify(SPAWN)}, \`exec\` of \`true\`, \`runner_remove\` through the same client, one after another. ` +
          "Runs alternate after an untimed warm-up of each (a smoke run warms up by hand only). Ratio = p50 ÷ peer p50.",
        "",
        ...latencyTable(
          [
            { path: "DevHatchery: `job_run` of `true` (shell profile, tmpfs)", summary: job, reference: run },
            { path: "peer: `docker run --rm` of `true` via Engine API", summary: run },
            {
              path: "DevHatchery: `runner_spawn` + `exec` `true` + `runner_remove`",
              summary: hand,
              reference: run,
            },
          ],
          "vs docker run --rm",
        ),
        "",
        `\`job_run\` p50 = ${ratio(job.p50, run.p50)} of \`docker run --rm\` and ${ratio(job.p50, hand.p50)} of the ` +
          `same runner spawned, used and removed by hand (p95: ${ratio(job.p95, run.p95)}, ${ratio(job.p95, hand.p95)}); ` +
          `p50 differences: ${signedMs(job.p50 - run.p50)} ms against the peer, ${signedMs(job.p50 - hand.p50)} ms against by hand.`,
        "",
        "Where `job_run`'s time goes: the client's clock at each status notification the call streams (`starting`, " +
          `\`running\`, \`collecting\`, \`${ENDED}\`; the last is sent after the runner is removed), the job's own ` +
          "`duration_ms` (its runner's start to its result collected), and the server's `ended_at` − `started_at` − " +
          "`duration_ms` (its runner's removal, ms resolution); beside them the by-hand calls. Ratio = p50 ÷ `job_run` p50.",
        "",
        ...latencyTable(
          [
            {
              path: "call → `running`: runner spawned, job folder and /work prepared",
              summary: summarize(between(jobs, undefined, "running")),
              reference: job,
            },
            {
              path: "`running` → `collecting`: the agent (`/bin/sh -lc true`)",
              summary: summarize(between(jobs, "running", "collecting")),
              reference: job,
            },
            {
              path: `\`collecting\` → \`${ENDED}\`: result read, runner removed`,
              summary: summarize(between(jobs, "collecting", ENDED)),
              reference: job,
            },
            {
              path: `\`${ENDED}\` → result returned`,
              summary: summarize(between(jobs, ENDED, undefined)),
              reference: job,
            },
            { path: "job `duration_ms` (server: runner start → result collected)", summary: duration, reference: job },
            {
              path: "runner removal (server: `ended_at` − `started_at` − `duration_ms`)",
              summary: removal,
              reference: job,
            },
            {
              path: "`job_run` − `duration_ms` (queue, MCP, removal)",
              summary: summarize(jobs.map((sample) => sample.ms - sample.durationMs)),
              reference: job,
            },
            {
              path: "by hand: `runner_spawn` (tmpfs)",
              summary: summarize(byHand.map((sample) => sample.spawn)),
              reference: job,
            },
            { path: "by hand: `exec` `true`", summary: summarize(byHand.map((sample) => sample.exec)), reference: job },
            {
              path: "by hand: `runner_remove`",
              summary: summarize(byHand.map((sample) => sample.remove)),
              reference: job,
            },
          ],
          "of job_run",
        ),
      ],
      goals: [],
    };
  },
};
