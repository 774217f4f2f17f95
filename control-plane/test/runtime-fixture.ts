import { randomBytes } from "node:crypto";
import { connect } from "node:net";
import { createLogger } from "../src/log.js";
import type { RunnerContainerSpec } from "../src/runtime/runner-container-spec.js";
import type { RunnerContainer } from "../src/runtime/runner-containers.js";
import { demuxDockerLog } from "../src/runtime/docker-log.js";
import { DockerRuntime } from "../src/runtime/docker-runtime.js";
import { createAgentDeliveryFixture, type AgentDeliveryFixture } from "./agent-delivery-fixture.js";
import { docker } from "./docker-cleanup.js";

export const RUNNER_IMAGE = "devhatchery-test/runner:dev";
/** Plain Debian minbase: no agent, no Node; runners from it get the agent injected. */
export const DEBIAN_IMAGE = "devhatchery-test/debian:bookworm";
const AGENT_PORT = 7070;
const READY_ATTEMPTS = 150;
const READY_POLL_MS = 200;

export interface ExecResult {
  exitCode: number;
  output: string;
}

/** A DockerRuntime of one test file, with its own principal, network name and agent volumes, and what it made. */
export interface RuntimeFixture {
  runtime: DockerRuntime;
  principal: string;
  /** A second principal whose containers and volumes cleanup removes too. */
  otherPrincipal: string;
  /** The file's runner network (ensured by `start`); make others with `networks.ensure` and list them in `networks`. */
  network: string;
  suffix: string;
  /** Networks to remove in cleanup (the file's own is already listed). */
  networks: string[];
  /** A spec for a runner of the fixture's principal on its network: tmpfs /work, modest limits, baked agent. */
  spec(overrides?: Partial<RunnerContainerSpec>): RunnerContainerSpec;
  /**
   * Starts a runner from `spec` (ensuring the file's network, injecting the agent for DEBIAN_IMAGE) and waits until
   * its agent port answers; other networks must exist.
   */
  start(overrides?: Partial<RunnerContainerSpec>): Promise<RunnerContainer>;
  /** Runs a command in a runner with `docker exec` (as the container's user unless `user` is given). */
  exec(runnerId: string, command: string[], user?: string): Promise<ExecResult>;
  /** Removes the principal's containers and volumes, the networks and the agent volumes. */
  cleanup(): Promise<void>;
}

export async function createRuntimeFixture(name: string): Promise<RuntimeFixture> {
  const suffix = randomBytes(4).toString("hex");
  const principal = `test-${name}-${suffix}`;
  const network = `devhatchery-test-${name}-${suffix}`;
  const delivery: AgentDeliveryFixture = await createAgentDeliveryFixture(suffix);
  const runtime = new DockerRuntime(createLogger("silent"), undefined, delivery.options());
  const networks = [network];

  const spec = (overrides: Partial<RunnerContainerSpec> = {}): RunnerContainerSpec => ({
    runnerId: `r${randomBytes(6).toString("hex")}`,
    principal,
    image: RUNNER_IMAGE,
    token: randomBytes(32).toString("hex"),
    agentPort: AGENT_PORT,
    network,
    createdAt: new Date().toISOString(),
    agentVolume: undefined,
    storage: { kind: "tmpfs", sizeMb: 64 },
    limits: { cpus: 1, memoryMb: 512, pids: 512 },
    ...overrides,
  });

  const otherPrincipal = `${principal}-other`;
  return {
    runtime,
    principal,
    otherPrincipal,
    network,
    suffix,
    networks,
    spec,
    async start(overrides = {}) {
      const full = spec(overrides);
      if (full.network === network) await runtime.networks.ensure(network);
      if (full.image === DEBIAN_IMAGE && !full.agentVolume) {
        full.agentVolume = await runtime.agentVolumes.ensure(
          (await runtime.images.ensure(DEBIAN_IMAGE)).architecture,
          DEBIAN_IMAGE,
        );
      }
      const runner = await runtime.containers.startRunner(full);
      await waitForAgent(runner);
      return runner;
    },
    exec: (runnerId, command, user) => dockerExec(`devhatchery-${runnerId}`, command, user),
    async cleanup() {
      for (const owner of [principal, otherPrincipal]) {
        const containers = await docker.listContainers({
          all: true,
          filters: { label: [`io.devhatchery.owner=${owner}`] },
        });
        await Promise.all(
          containers.map((info) =>
            docker
              .getContainer(info.Id)
              .remove({ force: true, v: true })
              .catch(() => undefined),
          ),
        );
        const { Volumes: volumes } = await docker.listVolumes({
          filters: { label: [`io.devhatchery.owner=${owner}`] },
        });
        await Promise.all(
          (volumes ?? []).map((volume) =>
            docker
              .getVolume(volume.Name)
              .remove()
              .catch(() => undefined),
          ),
        );
      }
      await Promise.all(
        networks.map((name) =>
          docker
            .getNetwork(name)
            .remove()
            .catch(() => undefined),
        ),
      );
      await delivery.cleanup();
    },
  };
}

/** Whether a TCP connection from this process to `host:port` opens within `timeoutMs`. */
export function canConnect(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (result: boolean): void => {
      socket.destroy();
      resolve(result);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });
}

/** Waits (bounded) until the runner's agent accepts connections from the host. */
export async function waitForAgent(runner: RunnerContainer): Promise<void> {
  for (let attempt = 0; attempt < READY_ATTEMPTS; attempt++) {
    if (runner.address && (await canConnect(runner.address, AGENT_PORT, 500))) return;
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
  const logs = await runnerLogs(runner.runnerId, 20);
  throw new Error(
    `The agent of runner "${runner.runnerId}" at ${runner.address}:${AGENT_PORT} never answered; its last log lines:\n${logs}`,
  );
}

/** A runner's container log (the agent's stdout and stderr), the last `tail` lines or all of it. */
export async function runnerLogs(runnerId: string, tail?: number): Promise<string> {
  const raw = await docker
    .getContainer(`devhatchery-${runnerId}`)
    .logs({ stdout: true, stderr: true, ...(tail === undefined ? {} : { tail }) });
  return demuxDockerLog(raw as unknown as Buffer);
}

export async function dockerExec(container: string, command: string[], user?: string): Promise<ExecResult> {
  const exec = await docker
    .getContainer(container)
    .exec({ Cmd: command, AttachStdout: true, AttachStderr: true, ...(user ? { User: user } : {}) });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    stream.on("data", (chunk: Buffer) => chunks.push(chunk));
    stream.on("end", resolve);
    stream.on("error", reject);
  });
  const info = await exec.inspect();
  return { exitCode: info.ExitCode ?? -1, output: demuxDockerLog(Buffer.concat(chunks)) };
}

/** Polls `check` (bounded in count) until it returns a value; the last error says what never happened. */
export async function eventually<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  attempts = 100,
  pollMs = 200,
): Promise<T> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    const value = await check();
    if (value !== undefined) return value;
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  throw new Error(`Gave up waiting for ${what} after ${attempts} attempts`);
}
