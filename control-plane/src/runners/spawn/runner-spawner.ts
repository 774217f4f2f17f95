import { AGENT_DEFAULT_PORT } from "@devhatchery/proto/contract";
import type { AgentClient } from "../../agent-client/agent-client.js";
import type { AuditLog } from "../../audit.js";
import { asControlPlaneError, ControlPlaneError } from "../../errors.js";
import type { Logger } from "../../log.js";
import type { ContainerRuntime } from "../../runtime/container-runtime.js";
import type { WorkspaceStorage } from "../../runtime/runner-container-spec.js";
import type { RunnerContainer } from "../../runtime/runner-containers.js";
import type { ImageInfo, PullProgress } from "../../runtime/runner-images.js";
import { redactText } from "../../secret-redaction.js";
export { describePullProgress } from "../../runtime/pull-progress.js";
import { VERSION } from "../../version.js";
import { waitUntilReady } from "./agent-readiness.js";
import { bakedAgentVersionWarning } from "./baked-agent-version.js";
import { verifyBinds } from "./bind-verification.js";
import type { ImageGate } from "./image-gate.js";
import type { RunnerBind } from "../mounts/mount-policy.js";
import type { ValidSpawn } from "./spawn-request.js";

export type SpawnProgress =
  { phase: "pulling"; detail: PullProgress } | { phase: "creating" } | { phase: "starting" } | { phase: "ready" };

/** One runner to create: the checked request plus what the service fixed for it. */
export interface SpawnPlan {
  principal: string;
  runnerId: string;
  token: string;
  createdAt: string;
  spawn: ValidSpawn;
  binds: RunnerBind[];
  /** The workspace mounted at /work with storage "volume": as asked, else the runner id. */
  workspaceKey: string | undefined;
}

export interface RunnerSpawnerOptions {
  network: string;
  readyTimeoutMs: number;
  tmpfsMb: number;
  /** Where new runners with outbound network get their apt pointed (apt_cache); none when omitted. */
  aptCache?: RunnerAptCache | undefined;
}

/** The apt cache as the spawner uses it (apt-cache/apt-cache.ts). */
export interface RunnerAptCache {
  /** Best effort: false when the runner has no apt or the cache is not listening. */
  configureRunner(client: AgentClient, network: string): Promise<boolean>;
}

const BAKED_HINT = "check that the image contains the DevHatchery agent (images/README.md).";
const INJECTED_HINT = "the agent was injected; check that the image is glibc-based with libstdc++ (images/README.md).";
const LOG_LINES_ON_FAILURE = 20;

/** The network runners without outbound access join: internal (no route out), still reachable from the host. */
export function offlineNetworkName(network: string): string {
  return `${network}-offline`;
}

/** Creates a runner and waits until its agent answers; a runner that does not get there is removed (its workspace volume is kept). */
export class RunnerSpawner {
  /** Images (with their baked agent version) already warned about: once per process is enough for an operator. */
  private readonly warnedImages = new Set<string>();

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly images: ImageGate,
    private readonly options: RunnerSpawnerOptions,
    private readonly log: Logger,
    private readonly audit: AuditLog,
  ) {}

  async create(
    plan: SpawnPlan,
    onProgress: (progress: SpawnProgress) => void,
  ): Promise<{ container: RunnerContainer; client: AgentClient }> {
    const { spawn, runnerId } = plan;
    const log = this.log.child({ runner: runnerId, principal: plan.principal, image: spawn.image });
    // Where a spawn's time goes (logged with "runner created"): image and agent, create and start, agent ready, the rest.
    const timings = new PhaseTimer();
    const network = spawn.network ? this.options.network : offlineNetworkName(this.options.network);
    await this.runtime.networks.ensure(network, spawn.network ? undefined : { internal: true });
    const choice = {
      image: spawn.image,
      ownSnapshot: spawn.ownSnapshot ?? false,
      pinned: spawn.imagePinned ?? false,
      pinPatterns: spawn.imagePinPatterns,
      pullPolicy: spawn.imagePullPolicy,
      pull: spawn.imagePull,
    };
    const imageInfo = await this.images.prepare(plan.principal, choice, (detail) =>
      onProgress({ phase: "pulling", detail }),
    );
    if (imageInfo.digest) log.info({ imageId: imageInfo.id, digest: imageInfo.digest }, "image pinned by digest");
    const agentVolume = await this.agentVolumeFor(imageInfo.id, imageInfo, onProgress);
    if (!agentVolume && imageInfo.agentVersion) this.checkBakedAgent(spawn.image, imageInfo.agentVersion, log);
    log.debug({ delivery: agentVolume ? "injected" : "baked", agentVolume }, "agent delivery chosen");
    const { storage, freshAutoVolume } = await this.prepareStorage(plan);
    timings.mark("prepareMs");
    let container: RunnerContainer;
    try {
      onProgress({ phase: "creating" });
      container = await this.runtime.containers.startRunner({
        runnerId,
        principal: plan.principal,
        image: spawn.image,
        imageId: imageInfo.id,
        imageDigest: imageInfo.digest,
        token: plan.token,
        agentPort: AGENT_DEFAULT_PORT,
        network,
        createdAt: plan.createdAt,
        agentVolume,
        binds: plan.binds,
        storage,
        alias: spawn.alias,
        workspaceKey: storage.kind === "volume" ? plan.workspaceKey : undefined,
        limits: spawn.limits,
        env: spawn.env,
        hardened: spawn.profile === "hardened",
      });
    } catch (error) {
      await this.dropFreshVolume(freshAutoVolume, log);
      throw error;
    }
    for (const bind of plan.binds) {
      this.audit.record({
        action: "mount",
        principal: plan.principal,
        outcome: "ok",
        runner: runnerId,
        alias: bind.alias,
        source: bind.source,
        target: bind.target,
        readOnly: bind.readOnly,
      });
    }
    timings.mark("createStartMs");
    onProgress({ phase: "starting" });
    let client: AgentClient;
    try {
      client = await waitUntilReady(this.runtime, container, plan.token, this.options.readyTimeoutMs, this.log);
    } catch (error) {
      // A crashing program may print its environment or credentials: redact before the lines are logged or returned.
      const logs = redactText(await this.runtime.containers.runnerLogs(runnerId, LOG_LINES_ON_FAILURE).catch(() => ""));
      await this.runtime.containers
        .removeRunner(runnerId)
        .catch((removeError: unknown) =>
          log.error({ err: removeError }, "could not remove a runner that failed to start"),
        );
      await this.dropFreshVolume(freshAutoVolume, log);
      log.warn({ err: error, logs }, "runner failed to start");
      // An unexpected error's own text (engine or transport words) stays in the log line above.
      const reason = asControlPlaneError(error).message;
      throw new ControlPlaneError(
        "RUNNER_START_FAILED",
        `Runner from image "${spawn.image}" did not become ready and was removed: ${reason}` +
          (logs.trim()
            ? `\nLast agent log lines:\n${logs.trim()}`
            : `\nThe agent wrote no log lines; ${agentVolume ? INJECTED_HINT : BAKED_HINT}`),
        { cause: error },
      );
    }
    timings.mark("agentReadyMs");
    const changed = await verifyBinds(
      client,
      plan.binds,
      "created",
      { log: this.audit, principal: plan.principal, runner: runnerId },
      container,
      log,
    );
    if (changed) {
      client.close();
      await this.runtime.containers
        .removeRunner(runnerId)
        .catch((removeError: unknown) =>
          log.error({ err: removeError }, "could not remove a runner whose mount changed"),
        );
      await this.dropFreshVolume(freshAutoVolume, log);
      log.warn({ err: changed }, "runner removed: a mounted folder is not the one checked");
      throw changed;
    }
    // Hardened runners cannot run apt (non-root, read-only root); offline ones could not reach a repository anyway.
    if (this.options.aptCache && spawn.network && spawn.profile !== "hardened")
      await this.options.aptCache.configureRunner(client, network);
    timings.mark("finishMs");
    log.debug({ timingsMs: timings.result() }, "runner created");
    onProgress({ phase: "ready" });
    return { container, client };
  }

  /**
   * Baked when the image carries the agent (label io.devhatchery.agent.version): undefined. Injected otherwise:
   * the agent volume to mount. Preparing it is reported as "pulling" progress, as it is part of getting ready to create.
   */
  private async agentVolumeFor(
    image: string,
    info: ImageInfo,
    onProgress: (progress: SpawnProgress) => void,
  ): Promise<string | undefined> {
    if (info.agentVersion) return undefined;
    const report = (status: string): void =>
      onProgress({ phase: "pulling", detail: { status: `agent: ${status}`, fraction: undefined } });
    return this.runtime.agentVolumes.ensure(info.architecture, image, report);
  }

  private checkBakedAgent(image: string, bakedVersion: string, log: Logger): void {
    const warning = bakedAgentVersionWarning(image, bakedVersion, VERSION);
    if (!warning || this.warnedImages.has(`${image}@${bakedVersion}`)) return;
    this.warnedImages.add(`${image}@${bakedVersion}`);
    log.warn({ agentVersion: bakedVersion, controlPlaneVersion: VERSION }, warning);
  }

  /** The /work of the plan; a volume created just now for a key nobody chose may go again if the runner never gets ready. */
  private async prepareStorage(
    plan: SpawnPlan,
  ): Promise<{ storage: WorkspaceStorage; freshAutoVolume: string | undefined }> {
    if (plan.spawn.storage === "tmpfs" || plan.workspaceKey === undefined)
      return { storage: { kind: "tmpfs", sizeMb: this.options.tmpfsMb }, freshAutoVolume: undefined };
    const volume = await this.runtime.workspaces.ensure(
      plan.principal,
      plan.workspaceKey,
      plan.createdAt,
      plan.spawn.image,
    );
    const fresh = plan.spawn.workspaceKey === undefined && volume.createdAt === plan.createdAt;
    return { storage: { kind: "volume", volume: volume.name }, freshAutoVolume: fresh ? volume.name : undefined };
  }

  private async dropFreshVolume(volume: string | undefined, log: Logger): Promise<void> {
    if (!volume) return;
    await this.runtime.workspaces
      .remove(volume)
      .catch((error: unknown) =>
        log.warn(
          { err: error, volume },
          "could not remove the empty workspace volume of a runner that failed to start",
        ),
      );
  }
}

/** Milliseconds between marks, by the name of the phase each mark ends. */
class PhaseTimer {
  private last = performance.now();
  private readonly phases: Record<string, number> = {};

  mark(phase: string): void {
    const now = performance.now();
    this.phases[phase] = Math.round((now - this.last) * 10) / 10;
    this.last = now;
  }

  result(): Record<string, number> {
    return { ...this.phases };
  }
}
