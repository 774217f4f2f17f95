import type { ContainerRuntime } from "../runtime/container-runtime.js";
import type { RunnerContainer } from "../runtime/runner-containers.js";
import type { SpawnRecord, StateStore } from "../store/state-store.js";
import { runnerInfoFromContainer, runnerInfoFromSpawn } from "./runner-info.js";
import { findRunnerByName, refKind, runnerNotFound, type RunnerTarget } from "./runner-refs.js";
import type { Principal, RunnerInfo } from "./runner.js";

/** A spawn this control plane is running now: what the caller was told, and its outcome. */
export interface InFlightSpawn {
  principal: string;
  info: RunnerInfo;
  ready: Promise<RunnerInfo>;
}

/** Finds a principal's runners by id, alias or workspace key, and shows them: the engine for what exists, the store for spawns and activity. */
export class RunnerLookup {
  constructor(
    private readonly runtime: Pick<ContainerRuntime, "containers">,
    private readonly store: StateStore,
    private readonly inFlight: ReadonlyMap<string, InFlightSpawn>,
  ) {}

  /** The runner `ref` names for this principal, or undefined; INVALID_ARGUMENT for a ref that cannot name one. */
  async find(principal: Principal, ref: string): Promise<RunnerTarget | undefined> {
    if (refKind(ref) === "id") {
      const container = await this.runtime.containers.findRunner(ref);
      if (container && container.principal === principal.id) return { kind: "container", container };
      const spawn = this.store.findSpawn(principal.id, ref);
      return spawn ? { kind: "spawn", spawn } : undefined;
    }
    return findRunnerByName(
      ref,
      await this.runtime.containers.listRunners(principal.id),
      this.store.listSpawns(principal.id),
    );
  }

  /** As find, but NOT_FOUND (the same for another principal's runner as for a missing one). */
  async resolve(principal: Principal, ref: string): Promise<RunnerTarget> {
    const target = await this.find(principal, ref);
    if (!target) throw runnerNotFound(ref);
    return target;
  }

  /** The principal's runner `ref` names as a container; NOT_FOUND when it has none (a spawn still starting or failed). */
  async container(principal: Principal, ref: string): Promise<RunnerContainer> {
    const target = await this.resolve(principal, ref);
    if (target.kind !== "container") throw runnerNotFound(ref);
    return target.container;
  }

  info(principal: Principal, target: RunnerTarget): RunnerInfo {
    const activity = this.store.runnerActivity(principal.id);
    return this.toInfo(target, activity);
  }

  /** Every runner of the principal, newest first: containers, and spawns that are starting or failed. */
  async list(principal: Principal): Promise<RunnerInfo[]> {
    const containers = await this.runtime.containers.listRunners(principal.id);
    const live = new Set(containers.map((container) => container.runnerId));
    const activity = this.store.runnerActivity(principal.id);
    const spawns = this.store.listSpawns(principal.id).filter((spawn) => !live.has(spawn.runnerId));
    return [
      ...containers.map((container) => this.toInfo({ kind: "container", container }, activity)),
      ...spawns.map((spawn) => this.toInfo({ kind: "spawn", spawn }, activity)),
    ].sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  }

  private toInfo(target: RunnerTarget, activity: Map<string, string>): RunnerInfo {
    if (target.kind === "container") {
      const spawn = this.pendingSpawn(target.container.principal, target.container.runnerId);
      return runnerInfoFromContainer(target.container, spawn, activity.get(target.container.runnerId));
    }
    const inFlight = this.inFlight.get(target.spawn.runnerId);
    if (inFlight && target.spawn.status === "starting") return inFlight.info;
    return runnerInfoFromSpawn(target.spawn, activity.get(target.spawn.runnerId));
  }

  /** A starting or failed spawn record of a runner that has a container (its status wins over the container state). */
  private pendingSpawn(principal: string, runnerId: string): SpawnRecord | undefined {
    return this.store.findSpawn(principal, runnerId);
  }
}
