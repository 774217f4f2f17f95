import { randomBytes } from "node:crypto";
import type { AgentClient } from "../../agent-client/agent-client.js";
import type { AuditLog } from "../../audit.js";
import { asControlPlaneError } from "../../errors.js";
import type { Logger } from "../../log.js";
import type { ContainerRuntime } from "../../runtime/container-runtime.js";
import type { RunnerContainer } from "../../runtime/runner-containers.js";
import type { StateStore } from "../../store/state-store.js";
import type { AgentConnections } from "../agent-connections.js";
import { claimSpawnKey } from "./idempotent-spawn.js";
import type { KeyedLock } from "../keyed-lock.js";
import type { RunnerBind } from "../mounts/mount-policy.js";
import type { RunnerActivity } from "../runner-activity.js";
import { runnerInfoFromContainer } from "../runner-info.js";
import type { InFlightSpawn } from "../runner-lookup.js";
import type { RunnerSpawner, SpawnPlan, SpawnProgress } from "./runner-spawner.js";
import type { Principal, RunnerInfo } from "../runner.js";
import { checkSpawnConflicts } from "./spawn-conflicts.js";
import { PolicyDeniedError, spawnRequestHash, type ValidSpawn } from "./spawn-request.js";
import type { TakenRunner, WarmPools } from "../pools/warm-pools.js";

export interface StartedSpawn {
  runner: RunnerInfo;
  /** Settles when the runner is ready, or rejects with the error already recorded as its failed spawn. */
  ready: Promise<RunnerInfo>;
  /** True when an idempotency key returned an earlier spawn. */
  reused: boolean;
}

/** What the coordinator shares with the RunnerService that owns it. */
export interface SpawnCoordinatorDeps {
  runtime: Pick<ContainerRuntime, "containers">;
  store: StateStore;
  spawner: RunnerSpawner;
  locks: KeyedLock;
  inFlight: Map<string, InFlightSpawn>;
  connections: AgentConnections;
  activity: RunnerActivity;
  audit: AuditLog;
  log: Logger;
  /** The most runners this principal may have, and the policy that set it (undefined: the server-wide limit). */
  maxRunners: (principal: Principal) => { max: number; policy: string | undefined };
  /**
   * Refuses a spawn that would take the principal past a quota, or while it is over a disk quota (QUOTA_EXCEEDED);
   * `containers` are its runners now.
   */
  checkQuotas?: (principal: Principal, containers: RunnerContainer[], spawn: ValidSpawn) => void | Promise<void>;
  emitChange: (principalId: string, runnerId: string) => void;
  /** Warm pools a matching spawn claims a ready runner from; every spawn starts cold without. */
  pools?: WarmPools;
}

const FAILED_SPAWN_TTL_MS = 24 * 60 * 60 * 1000;

/**
 * Runs checked spawns: under the principal's lock it claims the idempotency key, checks workspace, alias and count,
 * and records the spawn; the container is created outside the lock, so spawns for different workspaces run in parallel
 * while two spawns can never take one workspace, alias or key.
 */
export class SpawnCoordinator {
  constructor(private readonly deps: SpawnCoordinatorDeps) {}

  start(
    principal: Principal,
    spawn: ValidSpawn,
    binds: RunnerBind[],
    onProgress: (progress: SpawnProgress) => void,
  ): Promise<StartedSpawn> {
    const { store, runtime, inFlight } = this.deps;
    return this.deps.locks.run(`principal:${principal.id}`, async () => {
      // A pooled runner keeps its id: the spawn's runner is the one taken.
      const taken = this.deps.pools?.take(spawn, binds);
      const runnerId = taken?.runnerId ?? `r-${randomBytes(6).toString("hex")}`;
      const createdAt = new Date().toISOString();
      const key = spawn.idempotencyKey;
      // Given back unless a spawn started with it: a reused key, a conflict or a quota refuses it.
      let started = false;
      try {
        if (key !== undefined) {
          const reused = await claimSpawnKey(store, runtime, inFlight, {
            principal: principal.id,
            key,
            requestHash: spawnRequestHash(spawn),
            runnerId,
            createdAt,
          });
          if (reused) return { ...reused, reused: true };
        }
        const spawned = await this.startClaimed(principal, spawn, binds, onProgress, { runnerId, createdAt, taken });
        started = true;
        return spawned;
      } finally {
        if (taken && !started) this.deps.pools?.giveBack(taken);
      }
    });
  }

  /** Under the principal's lock, with the key (if any) claimed: checks conflicts and quotas, records the spawn, starts it. */
  private async startClaimed(
    principal: Principal,
    spawn: ValidSpawn,
    binds: RunnerBind[],
    onProgress: (progress: SpawnProgress) => void,
    { runnerId, createdAt, taken }: { runnerId: string; createdAt: string; taken: TakenRunner | undefined },
  ): Promise<StartedSpawn> {
    const { store, runtime, inFlight } = this.deps;
    const key = spawn.idempotencyKey;
    try {
      const containers = await runtime.containers.listRunners(principal.id);
      auditingDenials(this.deps.audit, principal, () =>
        checkSpawnConflicts(spawn, containers, store.listSpawns(principal.id), this.deps.maxRunners(principal)),
      );
      await this.deps.checkQuotas?.(principal, containers, spawn);
      const workspaceKey = spawn.storage === "volume" ? (spawn.workspaceKey ?? runnerId) : undefined;
      const expiresAt = new Date(Date.parse(createdAt) + FAILED_SPAWN_TTL_MS).toISOString();
      store.recordSpawn({
        runnerId,
        principal: principal.id,
        image: spawn.image,
        workspaceKey,
        alias: spawn.alias,
        status: "starting",
        error: undefined,
        createdAt,
        expiresAt,
      });
      const info: RunnerInfo = {
        runnerId,
        image: spawn.image,
        status: "starting",
        createdAt,
        alias: spawn.alias,
        workspaceKey,
        storage: spawn.storage,
        limits: spawn.limits,
        network: spawn.network,
        profile: spawn.profile,
      };
      const token = randomBytes(32).toString("base64url");
      const ready = this.create(
        { principal: principal.id, runnerId, token, createdAt, spawn, binds, workspaceKey },
        onProgress,
        taken,
      );
      // The caller may never look at `ready` (wait: false); its failure is recorded, so it must not be unhandled.
      ready.catch(() => undefined);
      inFlight.set(runnerId, { principal: principal.id, info, ready });
      this.deps.emitChange(principal.id, runnerId);
      return { runner: info, ready, reused: false };
    } catch (error) {
      if (key !== undefined) store.releaseIdempotencyKey(principal.id, key);
      throw error;
    }
  }

  /** A claimed pooled runner, or a new one when none was taken or its claim failed (the spawn then starts cold). */
  private async runnerFor(
    plan: SpawnPlan,
    onProgress: (progress: SpawnProgress) => void,
    taken: TakenRunner | undefined,
  ): Promise<{ container: RunnerContainer; client: AgentClient; pooled: boolean }> {
    if (taken && this.deps.pools) {
      try {
        return { ...(await this.deps.pools.claim(taken, plan.principal, plan.spawn)), pooled: true };
      } catch (error) {
        this.deps.log.warn(
          { err: error, runner: plan.runnerId },
          "the pooled runner could not be claimed; starting cold",
        );
      }
    }
    return { ...(await this.deps.spawner.create(plan, onProgress)), pooled: false };
  }

  private async create(
    plan: SpawnPlan,
    onProgress: (progress: SpawnProgress) => void,
    taken?: TakenRunner,
  ): Promise<RunnerInfo> {
    const { store, audit } = this.deps;
    const { spawn, runnerId, principal } = plan;
    const key = spawn.idempotencyKey;
    const fields = {
      image: spawn.image,
      workspace: plan.workspaceKey,
      storage: spawn.storage,
      alias: spawn.alias,
      limits: spawn.limits,
      profile: spawn.profile,
      network: spawn.network,
      env: Object.keys(spawn.env),
    };
    try {
      const { container, client, pooled } = await this.runnerFor(plan, onProgress, taken);
      this.deps.connections.set(principal, runnerId, client, plan.workspaceKey);
      store.finishSpawn(runnerId, { status: "ready" });
      if (key !== undefined) store.completeIdempotencyKey(principal, key, runnerId);
      this.deps.activity.touchNow(principal, runnerId, plan.workspaceKey);
      audit.record({ action: "runner.spawn", principal, outcome: "ok", runner: runnerId, pooled, ...fields });
      this.deps.log.info(
        { runner: runnerId, principal, image: spawn.image, workspace: plan.workspaceKey, pooled },
        "runner ready",
      );
      return { ...runnerInfoFromContainer(container, undefined, new Date().toISOString()), status: "ready", pooled };
    } catch (error) {
      const failure = asControlPlaneError(error);
      store.finishSpawn(runnerId, { status: "failed", error: failure.message });
      if (key !== undefined) store.releaseIdempotencyKey(principal, key);
      audit.record({
        action: "runner.spawn",
        principal,
        outcome: "failed",
        runner: runnerId,
        code: failure.code,
        ...fields,
      });
      // A rule that can only be checked once the image is local (a digest pin) refuses here, after acceptance.
      if (failure instanceof PolicyDeniedError) recordDenial(audit, principal, failure, { runner: runnerId });
      throw failure;
    } finally {
      this.deps.inFlight.delete(runnerId);
      this.deps.emitChange(principal, runnerId);
    }
  }
}

/** Records a spawn refused by policy in the audit log: the policy, the rule (what), its limit and the message. */
export function recordDenial(
  audit: AuditLog,
  principal: string,
  error: PolicyDeniedError,
  fields: { runner?: string } = {},
): void {
  audit.record({
    action: "policy.denied",
    principal,
    outcome: "denied",
    request: "runner.spawn",
    ...fields,
    policy: error.policy,
    what: error.what,
    limit: error.limit,
    reason: error.message,
  });
}

/** Runs `check`; a policy denial it throws is recorded in the audit log (what and the limit) before it goes on. */
export function auditingDenials<T>(audit: AuditLog, principal: Principal, check: () => T): T {
  try {
    return check();
  } catch (error) {
    if (error instanceof PolicyDeniedError) recordDenial(audit, principal.id, error);
    throw error;
  }
}
