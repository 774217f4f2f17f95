import { AGENT_DEFAULT_PORT } from "@devhatchery/proto/contract";
import { AgentClient } from "../agent-client/agent-client.js";
import { fetchAgentDebug } from "../agent-client/agent-debug.js";
import type { PrincipalPolicy } from "../auth/principal-policy.js";
import { NO_AUDIT, type AuditLog } from "../audit.js";
import type { ImagePullPolicy, PoolConfig, QuotaLimits } from "../config.js";
import { ControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Meter } from "../meter.js";
import type { ContainerRuntime } from "../runtime/container-runtime.js";
import type { RunnerContainer } from "../runtime/runner-containers.js";
import type { RunnerEvent } from "../runtime/runner-events.js";
import type { StateStore } from "../store/state-store.js";
import { AgentConnections } from "./agent-connections.js";
import { KeyedLock } from "./keyed-lock.js";
import { MountPolicy } from "./mounts/mount-policy.js";
import { RunnerActivity } from "./runner-activity.js";
import { IdleRunners, type AgentWork, type IdleSettings } from "./idle-runners.js";
import type { EffectiveQuotas } from "./quotas.js";
import { PrincipalQuotas } from "./principal-quotas.js";
import { runnerInfoFromContainer } from "./runner-info.js";
import { RunnerLookup, type InFlightSpawn } from "./runner-lookup.js";
import { reconcileRunners, type ReconcileReport } from "./runner-reconciler.js";
import { startRunnerBackgroundWork } from "./runner-background.js";
import { runnerNotFound, type RunnerTarget } from "./runner-refs.js";
import { runnerUnavailable, startingSpawnOf } from "./runner-unavailable.js";
import { RunnerSpawner, type RunnerAptCache, type SpawnProgress } from "./spawn/runner-spawner.js";
import type { PrepullState } from "./spawn/image-prepull.js";
import type { IsolationProfile, Principal, RunnerInfo, SnapshotInfo, SpawnRequest, WorkspaceInfo } from "./runner.js";
import { ImageGate } from "./spawn/image-gate.js";
import { WarmPools, type PoolStatus } from "./pools/warm-pools.js";
import { NO_METER } from "../meter.js";
import { SnapshotService, type SpawnSource } from "./snapshots/snapshot-service.js";
import { applyCallerPolicy } from "./spawn/caller-policy.js";
import { auditingDenials, SpawnCoordinator, type StartedSpawn } from "./spawn/spawn-coordinator.js";
import { validateSpawnRequest, type LimitsPolicy, type SpawnPolicy, type ValidSpawn } from "./spawn/spawn-request.js";
import { restartStoppedRunner } from "./spawn/runner-restart.js";
import { volumeInUse, volumeSharedWith, workspaceNotFound, WorkspaceService } from "./workspaces/workspace-service.js";

export type { SpawnProgress } from "./spawn/runner-spawner.js";
export type { SpawnRequest } from "./runner.js";
export type { ReconcileReport } from "./runner-reconciler.js";
export type { StartedSpawn } from "./spawn/spawn-coordinator.js";

export interface RunnerServiceOptions {
  defaultImage: string;
  network: string;
  readyTimeoutMs: number;
  /** The operator's allowed roots; without it every mount request is refused. */
  mountPolicy?: MountPolicy;
  /** Defaults and maxima (config.limits); DEFAULT_LIMITS when omitted. */
  limits?: LimitsPolicy;
  /** The operator's minimum profile (config.profile); "default" when omitted. */
  profile?: IsolationProfile;
  /** Image patterns runners may use (config images.allowed); empty or omitted allows every image. */
  allowedImages?: readonly string[];
  /** Pulls (config images.pull, default "missing"), registries (images.registries, default any) and id references (default refused). */
  images?: { pull?: ImagePullPolicy; registries?: readonly string[] | undefined; allowIdReferences?: boolean };
  /** Idle runners (config lifecycle.*); without it no runner is ever stopped or paused for idleness. */
  idle?: IdleSettings;
  /** Counts idle actions and wake-ups (devhatchery_runner_lifecycle_total). */
  meter?: Meter;
  /** Quotas every principal has (config quotas.*); a principal's policy narrows them. None when omitted. */
  quotas?: QuotaLimits;
  /** Where export_create writes (config exports.root): system_status reads it for the export_mb quota. */
  exportRoot?: string;
  /** Warm pools (config pools); startPools() fills them. None when omitted. */
  pools?: readonly PoolConfig[];
  /** Test-only fault points (testFixtures), e.g. "claim-crash". */
  fault?: string | undefined;
  /** The apt cache new runners with outbound network are pointed at (config apt_cache); none when omitted. */
  aptCache?: RunnerAptCache | undefined;
}

/** The configuration defaults, for callers (tests) that do not pass config.limits. */
export const DEFAULT_LIMITS: LimitsPolicy = {
  defaults: { cpus: 2, memoryMb: 2048, pids: 4096 },
  max: { cpus: 4, memoryMb: 8192, pids: 16384 },
  maxRunnersPerPrincipal: 50,
  tmpfsMb: 1024,
};

/** What the image check decided that the spawn carries on to the image preparation. */
function imageFacts(source: SpawnSource): Partial<ValidSpawn> {
  return {
    ownSnapshot: source.ownSnapshot,
    imagePinned: source.pinned,
    imagePinPatterns: source.pinPatterns,
    imagePullPolicy: source.pullPolicy,
    imagePull: source.pull,
  };
}

export type RunnerChangeListener = (principalId: string, runnerId: string) => void;
/** A message for the sessions of a runner's owner (e.g. before an idle stop). */
export type RunnerNoticeListener = (principalId: string, runnerId: string | undefined, text: string) => void;

export type AttachAction = "reused" | "started" | "spawned";

const STOP_TIMEOUT_S = 10;
/** How long a container exit this service caused (stop, remove) is expected: its "die" event is not an agent death. */
const EXPECTED_EXIT_MS = STOP_TIMEOUT_S * 1000 + 5000;
const noProgress = (): void => {};

/** Runner lifecycle, workspaces and owner-checked access to a runner's agent; refs are a runner id, an alias or a workspace key. */
export class RunnerService {
  private readonly connections = new AgentConnections();
  private readonly inFlight = new Map<string, InFlightSpawn>();
  private readonly locks = new KeyedLock();
  private readonly changeListeners = new Set<RunnerChangeListener>();
  private readonly noticeListeners = new Set<RunnerNoticeListener>();
  private prepulls: () => PrepullState[] = () => [];
  private readonly idle: IdleRunners | undefined;
  private readonly lookup: RunnerLookup;
  private readonly coordinator: SpawnCoordinator;
  private readonly workspaces: WorkspaceService;
  private readonly snapshots: SnapshotService;
  private readonly activity: RunnerActivity;
  private readonly limits: LimitsPolicy;
  private readonly stopBackground: (() => void)[] = [];
  private readonly expectedExits = new Set<string>();
  private readonly quotas: PrincipalQuotas;
  private readonly pools: WarmPools;

  constructor(
    private readonly runtime: ContainerRuntime,
    private readonly store: StateStore,
    private readonly options: RunnerServiceOptions,
    private readonly log: Logger,
    private readonly audit: AuditLog = NO_AUDIT,
  ) {
    this.limits = options.limits ?? DEFAULT_LIMITS;
    this.quotas = new PrincipalQuotas(runtime, options.quotas ?? {}, this.inFlight, options.exportRoot);
    this.lookup = new RunnerLookup(runtime, store, this.inFlight);
    const images = new ImageGate(
      runtime,
      {
        defaultImage: options.defaultImage,
        allowed: options.allowedImages ?? [],
        pull: options.images?.pull ?? "missing",
        registries: options.images?.registries,
        allowIdReferences: options.images?.allowIdReferences ?? false,
      },
      (image) => this.store.recordPulledImage(image, new Date().toISOString()),
    );
    this.workspaces = new WorkspaceService(runtime, store, log, audit);
    this.snapshots = new SnapshotService(
      runtime,
      images,
      this.lookup,
      this.locks,
      (runnerId) => this.inFlight.has(runnerId),
      log,
      audit,
      (principal) => this.quotas.of(principal),
    );
    this.activity = new RunnerActivity(store, log);
    this.idle =
      options.idle &&
      new IdleRunners(
        runtime,
        store,
        options.idle,
        {
          agentWork: (container) => this.agentWork(container),
          act: (container, action, idleForS, stillIdle) => this.actOnIdle(container, action, idleForS, stillIdle),
        },
        log,
        audit,
      );
    const spawner = new RunnerSpawner(
      runtime,
      images,
      {
        network: options.network,
        readyTimeoutMs: options.readyTimeoutMs,
        tmpfsMb: this.limits.tmpfsMb,
        aptCache: options.aptCache,
      },
      log,
      audit,
    );
    this.pools = new WarmPools(options.pools ?? [], {
      runtime,
      spawner,
      claims: store.runnerClaims,
      tokens: store.runnerTokens,
      pids: Math.min(this.limits.defaults.pids, this.limits.max.pids),
      meter: options.meter ?? NO_METER,
      audit,
      log: log.child({ component: "pools" }),
      fault: options.fault,
    });
    this.coordinator = new SpawnCoordinator({
      runtime,
      store,
      spawner,
      pools: this.pools,
      locks: this.locks,
      inFlight: this.inFlight,
      connections: this.connections,
      activity: this.activity,
      audit,
      log,
      maxRunners: (principal) => {
        const policy = principal.policy;
        const server = this.limits.maxRunnersPerPrincipal;
        return policy?.maxRunners !== undefined && policy.maxRunners < server
          ? { max: policy.maxRunners, policy: policy.name }
          : { max: server, policy: undefined };
      },
      emitChange: (principalId, runnerId) => this.emitChange(principalId, runnerId),
      checkQuotas: (principal, containers, spawn) =>
        this.quotas.check(
          principal,
          { runners: 1, cpus: spawn.limits.cpus, memoryMb: spawn.limits.memoryMb },
          { containers, disk: true },
        ),
    });
  }

  /** Validates, claims the idempotency key, creates (or finds) the runner and waits until it is ready. */
  async spawn(
    principal: Principal,
    request: SpawnRequest,
    onProgress: (progress: SpawnProgress) => void = noProgress,
  ): Promise<RunnerInfo> {
    return (await this.startSpawn(principal, request, onProgress)).ready;
  }

  /**
   * Same validation and idempotency as spawn, but returns as soon as the runner id is fixed (status "starting");
   * `ready` settles when it is ready, or rejects with the error already recorded as a failed spawn.
   */
  async startSpawn(
    principal: Principal,
    request: SpawnRequest,
    onProgress: (progress: SpawnProgress) => void = noProgress,
  ): Promise<StartedSpawn> {
    const source = await this.snapshots.spawnSource(principal, request);
    const spawn = auditingDenials(this.audit, principal, () =>
      applyCallerPolicy(validateSpawnRequest(source.request, this.spawnPolicy()), source.request, principal.policy),
    );
    return this.startValidSpawn(principal, { ...spawn, ...imageFacts(source) }, onProgress);
  }

  private async startValidSpawn(
    principal: Principal,
    spawn: ValidSpawn,
    onProgress: (progress: SpawnProgress) => void,
  ): Promise<StartedSpawn> {
    const binds = await (this.options.mountPolicy ?? new MountPolicy([])).resolve(spawn.mounts);
    return this.coordinator.start(principal, spawn, binds, onProgress);
  }

  /**
   * By id, alias or workspace key: a ready runner is reused; a stopped one is started; a workspace with no runner gets
   * one spawned on its volume (image: `image`, else the image the workspace was created with, else the default).
   */
  async attach(
    principal: Principal,
    ref: string,
    options: { image?: string | undefined } = {},
    onProgress: (progress: SpawnProgress) => void = noProgress,
  ): Promise<{ runner: RunnerInfo; action: AttachAction }> {
    const target = await this.lookup.find(principal, ref);
    const existing = await this.attachExisting(principal, target);
    if (existing) return existing;
    const workspace = await this.workspaces.find(principal, ref);
    if (!workspace) throw target ? runnerUnavailable(ref, target) : runnerNotFound(ref);
    // One spawn per workspace: a concurrent attach that spawned meanwhile is joined instead of refused as a conflict.
    const started = await this.locks.run(`workspace:${principal.id}:${workspace.workspaceKey}`, async () => {
      const current = await this.lookup.find(principal, ref);
      if (current?.kind === "container" || (current?.kind === "spawn" && this.inFlight.has(current.spawn.runnerId)))
        return current;
      // The volume remembers the image of the runner it was created for (label): attach comes back to the same tools.
      const image = options.image ?? workspace.image ?? current?.spawn.image;
      const source = await this.snapshots.spawnSource(principal, { image });
      const spawn = auditingDenials(this.audit, principal, () =>
        applyCallerPolicy(validateSpawnRequest(source.request, this.spawnPolicy()), source.request, principal.policy),
      );
      return this.startValidSpawn(
        principal,
        { ...spawn, workspaceKey: workspace.workspaceKey, ...imageFacts(source) },
        onProgress,
      );
    });
    if ("ready" in started) return { runner: await started.ready, action: "spawned" };
    const joined = await this.attachExisting(principal, started);
    if (!joined) throw runnerUnavailable(ref, started);
    return joined;
  }

  /** Attach to what `target` found: a running runner is reused, a stopped one started, a spawn in flight awaited. */
  private async attachExisting(
    principal: Principal,
    target: RunnerTarget | undefined,
  ): Promise<{ runner: RunnerInfo; action: AttachAction } | undefined> {
    if (target?.kind === "container") {
      const { container } = target;
      const spawning = this.inFlight.get(container.runnerId);
      if (spawning) return { runner: await spawning.ready, action: "reused" };
      if (container.state === "running") {
        this.activity.touchNow(principal.id, container.runnerId, container.workspaceKey);
        return { runner: this.lookup.info(principal, target), action: "reused" };
      }
      return { runner: await this.startStopped(principal, container), action: "started" };
    }
    const starting = target?.kind === "spawn" ? this.inFlight.get(target.spawn.runnerId) : undefined;
    return starting ? { runner: await starting.ready, action: "reused" } : undefined;
  }

  private async startStopped(principal: Principal, stopped: RunnerContainer): Promise<RunnerInfo> {
    const runnerId = stopped.runnerId;
    if (stopped.state === "paused") {
      const thawed = await this.wake(principal, stopped);
      return runnerInfoFromContainer(thawed, undefined, new Date().toISOString());
    }
    // Counting and starting under the principal's spawn lock: two starts (or a start and a spawn) at once cannot
    // both fit in the last free place. The workspace disk quota does not apply: a start adds no disk, and starting
    // a runner is how its owner gets in to free space.
    const start = (id: string): Promise<RunnerContainer> =>
      this.locks.run(`principal:${principal.id}`, async () => {
        await this.quotas.check(principal, {
          runners: 1,
          cpus: stopped.limits.cpus,
          memoryMb: stopped.limits.memoryMb,
        });
        this.store.clearIdleAction(runnerId);
        return this.runtime.containers.restartRunner(id);
      });
    return this.locks.run(`runner:${runnerId}`, async () => {
      const container = await restartStoppedRunner(
        this.runtime,
        this.connections,
        principal.id,
        runnerId,
        this.options.readyTimeoutMs,
        this.audit,
        this.log,
        start,
      ).catch((error: unknown) => {
        this.audit.record({ action: "runner.start", principal: principal.id, outcome: "failed", runner: runnerId });
        throw error;
      });
      this.activity.touchNow(principal.id, runnerId, container.workspaceKey);
      this.audit.record({ action: "runner.start", principal: principal.id, outcome: "ok", runner: runnerId });
      this.log.info({ runner: runnerId, principal: principal.id }, "runner started again");
      this.emitChange(principal.id, runnerId);
      return runnerInfoFromContainer(container, undefined, new Date().toISOString());
    });
  }

  /** Stops a runner's container; everything (container, /work, tmpfs excepted) is kept and runner_attach starts it again. */
  async stop(principal: Principal, ref: string): Promise<RunnerInfo> {
    const found = await this.lookup.resolve(principal, ref);
    if (found.kind !== "container") throw runnerUnavailable(ref, found);
    const runnerId = found.container.runnerId;
    return this.locks.run(`runner:${runnerId}`, async () => {
      const target = await this.lockedTarget(principal, ref, runnerId);
      this.connections.drop(runnerId);
      this.expectExit(runnerId);
      await this.runtime.containers.stopRunner(runnerId, STOP_TIMEOUT_S);
      // Stopped on purpose: only runner_attach brings it back, not any call that names it.
      this.store.clearIdleAction(runnerId);
      this.audit.record({ action: "runner.stop", principal: principal.id, outcome: "ok", runner: runnerId });
      this.log.info({ runner: runnerId, principal: principal.id }, "runner stopped");
      this.emitChange(principal.id, runnerId);
      const now = await this.runtime.containers.findRunner(runnerId);
      return this.lookup.info(principal, now ? { kind: "container", container: now } : target);
    });
  }

  /** Removes a runner (or forgets a failed spawn); its workspace volume only with `removeVolume` and when no other runner mounts it. */
  async remove(
    principal: Principal,
    ref: string,
    options: { removeVolume?: boolean } = {},
  ): Promise<{ runner: RunnerInfo; volumeRemoved: boolean }> {
    const target = await this.lookup.resolve(principal, ref);
    const runner = this.lookup.info(principal, target);
    if (target.kind === "spawn") {
      if (this.inFlight.has(target.spawn.runnerId)) throw runnerUnavailable(ref, target);
      this.store.deleteSpawn(target.spawn.runnerId);
      this.emitChange(principal.id, target.spawn.runnerId);
      return { runner: { ...runner, status: "stopped" }, volumeRemoved: false };
    }
    return this.locks.run(`runner:${target.container.runnerId}`, async () => {
      const { container } = await this.lockedTarget(principal, ref, target.container.runnerId);
      const workspace =
        options.removeVolume && container.storage.kind === "volume" && container.workspaceKey
          ? await this.workspaces.find(principal, container.workspaceKey)
          : undefined;
      const others = workspace?.usedBy.filter((id) => id !== container.runnerId) ?? [];
      if (workspace && others.length > 0) throw volumeSharedWith(workspace.workspaceKey, container.runnerId, others);
      await this.discard(container, { keepsWorkspace: !workspace });
      let volumeRemoved = false;
      if (workspace) {
        await this.workspaces.remove(principal, workspace.workspaceKey);
        this.quotas.forgetDisk(principal.id);
        volumeRemoved = true;
      }
      this.audit.record({
        action: "runner.remove",
        principal: principal.id,
        outcome: "ok",
        runner: container.runnerId,
        workspace: container.workspaceKey,
        volumeRemoved,
      });
      this.log.info({ runner: container.runnerId, principal: principal.id, volumeRemoved }, "runner removed");
      this.emitChange(principal.id, container.runnerId);
      return { runner: { ...runner, status: "stopped", error: undefined }, volumeRemoved };
    });
  }

  /**
   * Removes a runner past its maximum lifetime (garbage collection audits it); its workspace volume stays and its
   * retention starts now. A runner still being spawned is left for the next collection.
   */
  async expireRunner(runnerId: string): Promise<void> {
    await this.locks.run(`runner:${runnerId}`, async () => {
      const container = await this.runtime.containers.findRunner(runnerId);
      if (!container) return;
      if (this.inFlight.has(runnerId))
        throw new ControlPlaneError("FAILED_PRECONDITION", `Runner ${runnerId} is still starting; removed next time.`);
      await this.discard(container, { keepsWorkspace: true });
      this.log.info({ runner: runnerId, principal: container.principal }, "runner removed: maximum lifetime reached");
      this.emitChange(container.principal, runnerId);
    });
  }

  /**
   * Removes a runner's container and everything kept about it (inside the runner's lock). When its workspace stays,
   * the removal is the workspace's last use: its retention (lifecycle.workspace_retention_s) starts now.
   */
  private async discard(container: RunnerContainer, options: { keepsWorkspace: boolean }): Promise<void> {
    const { runnerId } = container;
    this.connections.drop(runnerId);
    this.expectExit(runnerId);
    await this.runtime.containers.removeRunner(runnerId);
    this.store.deleteSpawn(runnerId);
    this.store.forgetRunner(runnerId);
    this.activity.forget(runnerId);
    this.idle?.forget(runnerId);
    if (options.keepsWorkspace && container.workspaceKey)
      this.store.touchWorkspace(container.principal, container.workspaceKey, new Date().toISOString());
  }

  /**
   * Deletes an expired workspace volume under its owner's spawn lock, so no spawn can be attaching it meanwhile:
   * VOLUME_IN_USE while a runner (even a stopped one) mounts it, FAILED_PRECONDITION while a spawn for it is starting.
   */
  async expireWorkspace(principalId: string, workspaceKey: string): Promise<void> {
    await this.locks.run(`principal:${principalId}`, async () => {
      const starting = this.store
        .listSpawns(principalId)
        .some((spawn) => spawn.workspaceKey === workspaceKey && spawn.status === "starting");
      if (starting)
        throw new ControlPlaneError(
          "FAILED_PRECONDITION",
          `A runner for workspace "${workspaceKey}" is starting; kept.`,
        );
      const volume = await this.runtime.workspaces.find(principalId, workspaceKey);
      if (!volume) return;
      if (volume.usedBy.length > 0) throw volumeInUse(workspaceKey, volume.usedBy);
      await this.runtime.workspaces.remove(volume.name);
      this.store.forgetWorkspace(principalId, workspaceKey);
      this.log.info(
        { principal: principalId, workspace: workspaceKey, volume: volume.name },
        "workspace deleted: retention reached",
      );
    });
  }

  /**
   * The runner's container as it is now, read inside its lock: a remove, start or snapshot that held the lock before
   * may have changed or removed it, and a spawn still in flight must finish first.
   */
  private async lockedTarget(
    principal: Principal,
    ref: string,
    runnerId: string,
  ): Promise<{ kind: "container"; container: RunnerContainer }> {
    const container = await this.runtime.containers.findRunner(runnerId);
    if (!container || container.principal !== principal.id) throw runnerNotFound(ref);
    if (this.inFlight.has(runnerId)) throw runnerUnavailable(ref, startingSpawnOf(container));
    return { kind: "container", container };
  }

  /** A runner by id, alias or workspace key, including spawns that are starting or failed. */
  async get(principal: Principal, ref: string): Promise<RunnerInfo> {
    return this.annotate(this.lookup.info(principal, await this.lookup.resolve(principal, ref)));
  }

  /** The principal's runners, newest first, including starting and failed spawns, with their last activity. */
  async list(principal: Principal): Promise<RunnerInfo[]> {
    return (await this.lookup.list(principal)).map((runner) => this.annotate(runner));
  }

  /** Freezes a runner's processes (memory kept, no CPU); the next call naming it, or resume, thaws it. */
  async pause(principal: Principal, ref: string): Promise<RunnerInfo> {
    const container = await this.lookup.container(principal, ref);
    if (container.state !== "running" && container.state !== "paused")
      throw runnerUnavailable(ref, { kind: "container", container });
    await this.locks.run(`runner:${container.runnerId}`, async () => {
      this.connections.drop(container.runnerId);
      if (container.state === "running") await this.runtime.containers.pauseRunner(container.runnerId);
      this.audit.record({ action: "runner.pause", principal: principal.id, outcome: "ok", runner: container.runnerId });
      this.emitChange(principal.id, container.runnerId);
    });
    return this.get(principal, container.runnerId);
  }

  /** Thaws a paused runner (also one paused for idleness); a running one is left as it is. */
  async resume(principal: Principal, ref: string): Promise<RunnerInfo> {
    const container = await this.lookup.container(principal, ref);
    if (container.state === "paused") await this.wake(principal, container);
    else if (container.state !== "running") throw runnerUnavailable(ref, { kind: "container", container });
    return this.get(principal, container.runnerId);
  }

  /** The principal's workspaces, most recently used first; `sizes` asks the engine for disk usage (slower). */
  async listWorkspaces(principal: Principal, options: { sizes?: boolean } = {}): Promise<WorkspaceInfo[]> {
    return this.workspaces.list(principal, options);
  }

  /** Removes a workspace volume; VOLUME_IN_USE while any runner (even a stopped one) mounts it. */
  async removeWorkspace(principal: Principal, workspaceKey: string): Promise<WorkspaceInfo> {
    if (!workspaceKey) throw workspaceNotFound(workspaceKey);
    const removed = await this.workspaces.remove(principal, workspaceKey);
    this.quotas.forgetDisk(principal.id);
    return removed;
  }

  /** Commits the principal's runner (running or stopped) into a snapshot to spawn from later; /work is not part of it. */
  async createSnapshot(
    principal: Principal,
    runnerRef: string,
    options: { name?: string | undefined } = {},
  ): Promise<SnapshotInfo> {
    return this.snapshots.create(principal, runnerRef, options);
  }

  /** The principal's snapshots, newest first. */
  async listSnapshots(principal: Principal): Promise<SnapshotInfo[]> {
    return this.snapshots.list(principal);
  }

  /** Removes a snapshot (by id or name); FAILED_PRECONDITION while a runner spawned from it still exists. */
  async removeSnapshot(principal: Principal, ref: string): Promise<SnapshotInfo> {
    return this.snapshots.remove(principal, ref);
  }

  /** The canonical runner id a ref names for this principal. */
  async resolveRunnerId(principal: Principal, ref: string): Promise<string> {
    const target = await this.lookup.resolve(principal, ref);
    return target.kind === "container" ? target.container.runnerId : target.spawn.runnerId;
  }

  /** The agent of a ready runner of this principal (cached); records activity. Anything not ready is RUNNER_UNAVAILABLE with the way out. */
  async connect(principal: Principal, ref: string): Promise<AgentClient> {
    // Any call may write to /work: the principal's last workspace disk measurement no longer holds.
    this.quotas.noteCall(principal);
    const cached = this.connections.get(principal.id, ref);
    if (cached) {
      this.activity.touch(principal.id, cached.runnerId, cached.workspaceKey);
      this.idle?.noteUse(principal, cached.runnerId);
      return cached.client;
    }
    let target = await this.lookup.resolve(principal, ref);
    if (target.kind !== "container" || this.inFlight.has(target.container.runnerId))
      throw runnerUnavailable(ref, target.kind === "container" ? startingSpawnOf(target.container) : target);
    // A paused runner, or one stopped for idleness, comes back for the call that names it, as if it had never left.
    if (
      target.container.state === "paused" ||
      (target.container.state !== "running" && this.store.idleAction(target.container.runnerId))
    )
      target = { kind: "container", container: await this.wake(principal, target.container) };
    const { container } = target;
    this.idle?.noteUse(principal, container.runnerId);
    if (container.state !== "running" || !container.address || !container.token) throw runnerUnavailable(ref, target);
    this.activity.touch(principal.id, container.runnerId, container.workspaceKey);
    const existing = this.connections.get(principal.id, container.runnerId);
    if (existing) return existing.client;
    // A claim a crash interrupted is finished at start-up; until then the agent may hold another token.
    let token = container.token;
    if (container.pool !== undefined) {
      await this.pools.recovered;
      token = (await this.runtime.containers.findRunner(container.runnerId))?.token ?? token;
    }
    const client = new AgentClient(container.runnerId, `${container.address}:${AGENT_DEFAULT_PORT}`, token, this.log);
    if (container.env) client.exec.baseEnv = container.env;
    this.connections.set(principal.id, container.runnerId, client, container.workspaceKey, ref);
    return client;
  }

  /** The agent's debug snapshot (untrusted JSON) of a runner owned by this principal (processes, watches, streams, memory). */
  async debugView(principal: Principal, ref: string): Promise<unknown> {
    const container = await this.lookup.container(principal, ref);
    if (container.state !== "running" || !container.address || !container.token) {
      throw new ControlPlaneError(
        "RUNNER_UNAVAILABLE",
        `Runner "${ref}" is ${container.state}, not running; its agent has no debug view. Start it again with runner_attach.`,
      );
    }
    return fetchAgentDebug(container.address, container.token, container.runnerId);
  }

  /** The host folders bound into a runner of this principal (its /export mounts). */
  async binds(principal: Principal, ref: string): Promise<RunnerContainer["binds"]> {
    return (await this.lookup.container(principal, ref)).binds;
  }

  /** Calls `listener` when a runner starts spawning, gets ready, fails, stops, starts again, dies or is removed; returns the unsubscribe. */
  onRunnerChange(listener: RunnerChangeListener): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  /** On start-up: adopts labelled runners, fails spawns a crash left starting, removes never-started containers (never a volume). */
  async reconcile(): Promise<ReconcileReport> {
    return reconcileRunners(
      this.runtime,
      this.store,
      { readyTimeoutMs: this.options.readyTimeoutMs, isInFlight: (id) => this.inFlight.has(id) },
      this.log,
    );
  }

  /** Prepulls `images` without blocking, follows runner events (agent deaths) and prunes the store periodically; close() stops it all. */
  startBackgroundWork(prepull: string[], pull: ImagePullPolicy = "missing"): void {
    const background = startRunnerBackgroundWork(
      this.runtime,
      this.store,
      { images: prepull, pull },
      (event) => this.onRunnerEvent(event),
      this.log,
    );
    this.prepulls = background.prepulls;
    this.stopBackground.push(background.stop);
    if (this.idle) this.stopBackground.push(this.idle.start());
  }

  /**
   * Fills the warm pools, after finishing claims a crash interrupted and adopting the pools' ready runners; call it
   * after reconcile(). Resolves once recovery is done (the pools then refill in the background).
   */
  startPools(): Promise<void> {
    return this.pools.start();
  }

  /** Each warm pool's size and counts, for system_status. */
  poolStatus(): PoolStatus[] {
    return this.pools.status();
  }

  /** Where the operator's prepulls (images.prepull) are, for system_status. */
  prepullStatus(): PrepullState[] {
    return this.prepulls();
  }

  /** Calls `listener` with messages for a runner's owner (an idle stop about to happen); returns the unsubscribe. */
  onRunnerNotice(listener: RunnerNoticeListener): () => void {
    this.noticeListeners.add(listener);
    return () => this.noticeListeners.delete(listener);
  }

  /** The principal's quotas: the server's, narrowed by its policy. */
  quotasOf(principal: Principal): EffectiveQuotas {
    return this.quotas.of(principal);
  }

  /** The principals this process has served, with the policy of their latest call (for quota warnings). */
  servedPrincipals(): ReadonlyMap<string, PrincipalPolicy | undefined> {
    return this.quotas.servedPrincipals();
  }

  /** Each quota of the principal with what it uses of it (system_status). */
  async quotaStatus(principal: Principal): Promise<Awaited<ReturnType<PrincipalQuotas["report"]>>> {
    return this.quotas.report(principal);
  }

  /** The runner's activity and idle record as runner_list and the runner resource show them. */
  private annotate(runner: RunnerInfo): RunnerInfo {
    const check = runner.status === "ready" ? this.idle?.activityOf(runner.runnerId) : undefined;
    const idle =
      runner.status === "stopped" || runner.status === "paused" ? this.store.idleAction(runner.runnerId) : undefined;
    return {
      ...runner,
      ...(check ? { activity: check.reasons } : {}),
      ...(idle ? { idle: { action: idle.action, at: idle.at } } : {}),
    };
  }

  /** What the runner's agent holds open (watches, streams); undefined when it does not answer. */
  private async agentWork(container: RunnerContainer): Promise<AgentWork | undefined> {
    if (!container.address || !container.token) return undefined;
    const view = (await fetchAgentDebug(container.address, container.token, container.runnerId).catch(
      () => undefined,
    )) as { watches?: unknown; streams?: { open?: unknown } } | undefined;
    if (!view) return undefined;
    return {
      watches: Array.isArray(view.watches) ? view.watches.length : 0,
      openStreams: typeof view.streams?.open === "number" ? view.streams.open : 0,
    };
  }

  /** Stops or pauses an idle runner, telling its owner's sessions before (a log message) and after (its new status). */
  private async actOnIdle(
    container: RunnerContainer,
    action: "stop" | "pause",
    idleForS: number,
    stillIdle: () => Promise<boolean>,
  ): Promise<boolean> {
    const { runnerId, principal } = container;
    const name = container.alias ? `${runnerId} (${container.alias})` : runnerId;
    const acted = await this.locks.run(`runner:${runnerId}`, async () => {
      if (!(await stillIdle())) return false;
      this.notify(
        principal,
        runnerId,
        `Runner ${name} has been idle for ${idleForS} s (no call named it, no process runs besides its agent, no watch or stream is open); ${action === "stop" ? "stopping" : "pausing"} it now. The next call naming it starts it again, with /work as it was.`,
      );
      this.connections.drop(runnerId);
      if (action === "stop") {
        this.expectExit(runnerId);
        await this.runtime.containers.stopRunner(runnerId, STOP_TIMEOUT_S);
      } else {
        await this.runtime.containers.pauseRunner(runnerId);
      }
      this.store.recordIdleAction({ runnerId, principal, action, at: new Date().toISOString() });
      return true;
    });
    if (!acted) return false;
    this.options.meter?.runnerLifecycle(action, "idle");
    this.idle?.forget(runnerId);
    this.emitChange(principal, runnerId);
    return true;
  }

  /** Brings back a runner stopped or paused for idleness (or paused by runner_pause) and returns it running. */
  private async wake(principal: Principal, container: RunnerContainer): Promise<RunnerContainer> {
    const { runnerId } = container;
    this.options.meter?.runnerLifecycle(container.state === "paused" ? "resume" : "start", "call");
    if (container.state !== "paused") {
      await this.startStopped(principal, container);
    } else {
      await this.quotas.check(principal, { runners: 0, cpus: container.limits.cpus, memoryMb: 0 });
      await this.locks.run(`runner:${runnerId}`, async () => {
        await this.runtime.containers.resumeRunner(runnerId);
        this.audit.record({ action: "runner.resume", principal: principal.id, outcome: "ok", runner: runnerId });
      });
      this.store.clearIdleAction(runnerId);
      this.activity.touchNow(principal.id, runnerId, container.workspaceKey);
      this.log.info({ runner: runnerId, principal: principal.id }, "runner resumed");
      this.emitChange(principal.id, runnerId);
    }
    this.idle?.noteUse(principal, runnerId);
    const now = await this.runtime.containers.findRunner(runnerId);
    if (!now || now.state !== "running")
      throw runnerUnavailable(runnerId, { kind: "container", container: now ?? container });
    return now;
  }

  /** Sends `text` to the sessions of `principalId` (a log message naming the runner, when there is one). */
  notify(principalId: string, runnerId: string | undefined, text: string): void {
    for (const listener of this.noticeListeners) {
      try {
        listener(principalId, runnerId, text);
      } catch (error) {
        this.log.warn({ err: error, runner: runnerId }, "runner notice listener failed");
      }
    }
  }

  private spawnPolicy(): SpawnPolicy {
    return { defaultImage: this.options.defaultImage, limits: this.limits, profile: this.options.profile ?? "default" };
  }

  /** Marks a container exit this service is about to cause, so its "die" event is not announced as an agent death. */
  private expectExit(runnerId: string): void {
    this.expectedExits.add(runnerId);
    setTimeout(() => this.expectedExits.delete(runnerId), EXPECTED_EXIT_MS).unref();
  }

  private onRunnerEvent(event: RunnerEvent): void {
    if (event.action === "die" || event.action === "destroy") this.connections.drop(event.runnerId);
    // Our own stop or remove announces itself once it is done; the exit it causes on the way is not news.
    if (event.action === "die" && this.expectedExits.has(event.runnerId)) return;
    if (event.action === "die")
      this.log.info(
        { runner: event.runnerId, principal: event.principal, exitCode: event.exitCode },
        "runner's agent exited",
      );
    if (event.action === "oom")
      this.log.warn(
        { runner: event.runnerId, principal: event.principal },
        "a process in the runner was killed for memory",
      );
    this.emitChange(event.principal, event.runnerId);
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

  /** Stops background work and closes every agent connection (runners keep running). */
  close(): void {
    this.pools.close();
    for (const stop of this.stopBackground.splice(0)) stop();
    this.connections.closeAll();
  }
}
