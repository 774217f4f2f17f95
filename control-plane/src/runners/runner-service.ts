import { randomBytes } from "node:crypto";
import { AGENT_DEFAULT_PORT } from "@devhatchery/proto/contract";
import { AgentClient } from "../agent-client/agent-client.js";
import { fetchAgentDebug, type AgentDebugView, type DebugFormat } from "../agent-client/agent-debug.js";
import { ControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import type { ContainerRuntime, ContainerState, ImageInfo, PullProgress, RunnerContainer } from "../runtime/container-runtime.js";
import { MountPolicy, type MountRequest, type RunnerBind } from "./mount-policy.js";
import { RUNNER_ID_PATTERN, type Principal, type RunnerInfo } from "./runner.js";

export interface RunnerServiceOptions {
  defaultImage: string;
  network: string;
  readyTimeoutMs: number;
  /** The operator's allowed roots; without it every mount request is refused. */
  mountPolicy?: MountPolicy;
}

export interface SpawnRequest {
  image?: string | undefined;
  /** Allowed roots to bind under /export, validated before the container is created. */
  mounts?: MountRequest[] | undefined;
}

export type SpawnProgress = { phase: "pulling"; detail: PullProgress } | { phase: "creating" } | { phase: "starting" } | { phase: "ready" };

const HEALTH_POLL_MS = 50;
const BAKED_HINT = "check that the image contains the DevHatchery agent (images/README.md).";
const INJECTED_HINT = "the agent was injected; check that the image is glibc-based with libstdc++ (images/README.md).";
const LOG_LINES_ON_FAILURE = 20;

const STATUS_BY_STATE: Record<ContainerState, RunnerInfo["status"]> = {
  created: "starting",
  restarting: "starting",
  running: "ready",
  paused: "stopped",
  exited: "stopped",
  dead: "stopped",
  removing: "stopped",
};

export type RunnerChangeListener = (principalId: string, runnerId: string) => void;

interface Connection {
  principal: string;
  client: AgentClient;
}

/** Runner lifecycle and owner-checked access to a runner's agent. */
export class RunnerService {
  private readonly connections = new Map<string, Connection>();
  private readonly changeListeners = new Set<RunnerChangeListener>();

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly options: RunnerServiceOptions,
    private readonly log: Logger,
  ) {}

  /** Creates a runner and waits until its agent is ready; a runner that does not get there is removed. */
  async spawn(principal: Principal, request: SpawnRequest, onProgress: (progress: SpawnProgress) => void = () => {}): Promise<RunnerInfo> {
    const image = request.image ?? this.options.defaultImage;
    const runnerId = `r-${randomBytes(6).toString("hex")}`;
    const token = randomBytes(32).toString("base64url");
    const createdAt = new Date().toISOString();
    const log = this.log.child({ runner: runnerId, principal: principal.id, image });

    const binds = await (this.options.mountPolicy ?? new MountPolicy([])).resolve(request.mounts ?? []);
    await this.runtime.ensureNetwork(this.options.network);
    const imageInfo = await this.runtime.ensureImage(image, (detail) => onProgress({ phase: "pulling", detail }));
    const agentVolume = await this.agentVolumeFor(image, imageInfo, onProgress);
    log.debug({ delivery: agentVolume ? "injected" : "baked", agentVolume }, "agent delivery chosen");
    onProgress({ phase: "creating" });
    const container = await this.runtime.startRunner({
      runnerId,
      principal: principal.id,
      image,
      token,
      agentPort: AGENT_DEFAULT_PORT,
      network: this.options.network,
      createdAt,
      agentVolume,
      binds,
    });
    auditMounts(log, binds);
    onProgress({ phase: "starting" });
    try {
      const client = await this.waitUntilReady(container, token);
      this.connections.set(runnerId, { principal: principal.id, client });
    } catch (error) {
      const logs = await this.runtime.runnerLogs(runnerId, LOG_LINES_ON_FAILURE).catch(() => "");
      await this.runtime.removeRunner(runnerId).catch((removeError: unknown) => log.error({ err: removeError }, "could not remove a runner that failed to start"));
      log.warn({ err: error, logs }, "runner failed to start");
      const reason = error instanceof ControlPlaneError ? error.message : String(error);
      throw new ControlPlaneError(
        "RUNNER_START_FAILED",
        `Runner from image "${image}" did not become ready and was removed: ${reason}` +
          (logs.trim() ? `\nLast agent log lines:\n${logs.trim()}` : `\nThe agent wrote no log lines; ${agentVolume ? INJECTED_HINT : BAKED_HINT}`),
        { cause: error },
      );
    }
    onProgress({ phase: "ready" });
    log.info("runner ready");
    this.emitChange(principal.id, runnerId);
    return { runnerId, image, status: "ready", createdAt };
  }

  /**
   * Baked when the image carries the agent (label io.devhatchery.agent.version): undefined. Injected otherwise:
   * the agent volume to mount. Preparing it is reported as "pulling" progress, as it is part of getting ready to create.
   */
  private async agentVolumeFor(image: string, info: ImageInfo, onProgress: (progress: SpawnProgress) => void): Promise<string | undefined> {
    if (info.agentVersion) return undefined;
    const report = (status: string): void => onProgress({ phase: "pulling", detail: { status: `agent: ${status}`, fraction: undefined } });
    return this.runtime.ensureAgentVolume(info.architecture, image, report);
  }

  /** Removes a runner of this principal. */
  async remove(principal: Principal, runnerRef: string): Promise<RunnerInfo> {
    const container = await this.ownedContainer(principal, runnerRef);
    this.connections.get(container.runnerId)?.client.close();
    this.connections.delete(container.runnerId);
    await this.runtime.removeRunner(container.runnerId);
    this.log.info({ runner: container.runnerId, principal: principal.id }, "runner removed");
    this.emitChange(principal.id, container.runnerId);
    return { runnerId: container.runnerId, image: container.image, status: "stopped", createdAt: container.createdAt };
  }

  /** The principal's runners as Docker knows them, newest first. */
  async list(principal: Principal): Promise<RunnerInfo[]> {
    const containers = await this.runtime.listRunners(principal.id);
    return containers
      .map((container) => ({ runnerId: container.runnerId, image: container.image, status: STATUS_BY_STATE[container.state], createdAt: container.createdAt }))
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  /** Calls `listener` after a runner was spawned (ready) or removed through this service; returns the unsubscribe. */
  onRunnerChange(listener: RunnerChangeListener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private emitChange(principalId: string, runnerId: string): void {
    for (const listener of this.changeListeners) {
      try {
        listener(principalId, runnerId);
      } catch (error) {
        this.log.warn({ err: error, runner: runnerId }, "runner change listener failed");
      }
    }
  }

  /** The agent of a runner owned by this principal; anything else is "not found" so ids reveal nothing. */
  async connect(principal: Principal, runnerRef: string): Promise<AgentClient> {
    const cached = this.connections.get(runnerRef);
    if (cached) {
      if (cached.principal !== principal.id) throw notFound(runnerRef);
      return cached.client;
    }
    const container = await this.ownedContainer(principal, runnerRef);
    if (container.state !== "running" || !container.address || !container.token) {
      throw new ControlPlaneError("RUNNER_UNAVAILABLE", `Runner "${runnerRef}" is ${container.state}, not running; remove it with runner_remove and spawn a new one with runner_spawn.`);
    }
    const client = new AgentClient(container.runnerId, `${container.address}:${AGENT_DEFAULT_PORT}`, container.token);
    this.connections.set(container.runnerId, { principal: principal.id, client });
    return client;
  }

  /** The agent's debug view of a runner owned by this principal (processes, watches, streams, memory). */
  async debugView(principal: Principal, runnerRef: string, format: DebugFormat): Promise<AgentDebugView> {
    const container = await this.ownedContainer(principal, runnerRef);
    if (container.state !== "running" || !container.address || !container.token) {
      throw new ControlPlaneError("RUNNER_UNAVAILABLE", `Runner "${runnerRef}" is ${container.state}, not running; its agent has no debug view.`);
    }
    return fetchAgentDebug(container.address, container.token, format, container.runnerId);
  }

  /** Closes every agent connection (runners keep running). */
  close(): void {
    for (const { client } of this.connections.values()) client.close();
    this.connections.clear();
  }

  /** The host folders bound into a runner of this principal (its /export mounts). */
  async binds(principal: Principal, runnerRef: string): Promise<RunnerContainer["binds"]> {
    return (await this.ownedContainer(principal, runnerRef)).binds;
  }

  private async ownedContainer(principal: Principal, runnerRef: string): Promise<RunnerContainer> {
    if (!RUNNER_ID_PATTERN.test(runnerRef)) {
      throw new ControlPlaneError("INVALID_ARGUMENT", `"${runnerRef}" is not a runner id (expected "r-" and 12 hex digits, as returned by runner_spawn).`);
    }
    const container = await this.runtime.findRunner(runnerRef);
    if (!container || container.principal !== principal.id) throw notFound(runnerRef);
    return container;
  }

  private async waitUntilReady(container: RunnerContainer, token: string): Promise<AgentClient> {
    if (container.state !== "running") throw agentExited(container);
    if (!container.address) throw new ControlPlaneError("RUNNER_START_FAILED", `the container has no address on network "${this.options.network}"`);
    const client = new AgentClient(container.runnerId, `${container.address}:${AGENT_DEFAULT_PORT}`, token);
    const deadline = Date.now() + this.options.readyTimeoutMs;
    let lastStateCheck = Date.now();
    try {
      while (Date.now() < deadline) {
        if (await client.isServing(Math.min(250, Math.max(1, deadline - Date.now())))) return client;
        if (Date.now() - lastStateCheck > 250) {
          lastStateCheck = Date.now();
          const current = await this.runtime.findRunner(container.runnerId);
          if (current?.state !== "running") throw agentExited(current);
        }
        await new Promise((resolve) => setTimeout(resolve, HEALTH_POLL_MS));
      }
    } catch (error) {
      client.close();
      throw error;
    }
    client.close();
    throw new ControlPlaneError("TIMEOUT", `the agent did not answer its health check within ${this.options.readyTimeoutMs} ms`);
  }
}

function auditMounts(log: Logger, binds: RunnerBind[]): void {
  for (const bind of binds) log.info({ audit: true, action: "mount", alias: bind.alias, source: bind.source, target: bind.target, readOnly: bind.readOnly }, "runner mount");
}

function agentExited(container: RunnerContainer | undefined): ControlPlaneError {
  return new ControlPlaneError("RUNNER_START_FAILED", `the agent exited (container ${container?.state ?? "gone"}, exit code ${container?.exitCode ?? "unknown"})`);
}

function notFound(runnerRef: string): ControlPlaneError {
  return new ControlPlaneError("NOT_FOUND", `Runner "${runnerRef}" not found for this principal; spawn one with runner_spawn.`);
}
