import type { ImagePullPolicy } from "../../config.js";
import type { DigestPins } from "../spawn/spawn-request.js";
import { randomBytes } from "node:crypto";
import type { AuditLog } from "../../audit.js";
import { ControlPlaneError } from "../../errors.js";
import type { Logger } from "../../log.js";
import type { ContainerRuntime } from "../../runtime/container-runtime.js";
import type { RunnerSnapshot } from "../../runtime/runner-snapshots.js";
import type { ImageGate } from "../spawn/image-gate.js";
import type { KeyedLock } from "../keyed-lock.js";
import type { RunnerLookup } from "../runner-lookup.js";
import { PolicyDeniedError } from "../spawn/spawn-request.js";
import { snapshotBytes } from "../quota-usage.js";
import { checkDiskQuota, checkSnapshotQuota, type EffectiveQuotas } from "../quotas.js";
import { recordDenial } from "../spawn/spawn-coordinator.js";
import { runnerUnavailable, startingSpawnOf } from "../runner-unavailable.js";
import { RUNNER_NAME_PATTERN, type Principal, type SnapshotInfo, type SpawnRequest } from "../runner.js";

/** Snapshot ids are `s-` and 12 hex digits. */
export const SNAPSHOT_ID_PATTERN = /^s-[0-9a-f]{12}$/;
const NAME_RULE = 'use 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit';

/** A spawn request with its image fixed and checked: `ownSnapshot` when that image is one of the caller's snapshots. */
export interface SpawnSource {
  request: SpawnRequest;
  ownSnapshot: boolean;
  /** images.allowed admits the image only by digest: the spawn resolves and checks it. */
  pinned: boolean;
  /** The digest patterns that pinned it (see ImageChoice). */
  pinPatterns?: DigestPins[] | undefined;
  /** The caller's policy when it forbids pulls. */
  pullPolicy?: string | undefined;
  /** images.pull as the caller's policy narrows it. */
  pull?: ImagePullPolicy | undefined;
}

/** A principal's snapshots: images committed from its runners, named, listed, removed and spawned from, owner-checked. */
export class SnapshotService {
  constructor(
    private readonly runtime: Pick<ContainerRuntime, "snapshots">,
    private readonly images: ImageGate,
    private readonly lookup: RunnerLookup,
    private readonly locks: KeyedLock,
    private readonly isStarting: (runnerId: string) => boolean,
    private readonly log: Logger,
    private readonly audit: AuditLog,
    /** The principal's quotas (snapshots, snapshot_mb); none when omitted. */
    private readonly quotasOf: (principal: Principal) => EffectiveQuotas = () => ({ limits: {}, source: {} }),
  ) {}

  /** Commits the principal's runner (running or stopped) into a new snapshot; its /work is not part of it. */
  async create(
    principal: Principal,
    runnerRef: string,
    options: { name?: string | undefined } = {},
  ): Promise<SnapshotInfo> {
    const name = options.name === undefined ? undefined : checkSnapshotName(options.name);
    const target = await this.lookup.resolve(principal, runnerRef);
    if (target.kind !== "container") throw runnerUnavailable(runnerRef, target);
    const runnerId = target.container.runnerId;
    if (this.isStarting(runnerId)) throw runnerUnavailable(runnerRef, startingSpawnOf(target.container));
    // Names are unique per principal: the check and the commit run under the principal's snapshot lock.
    return this.locks.run(`snapshots:${principal.id}`, async () => {
      const existing = await this.runtime.snapshots.list(principal.id);
      const quotas = this.quotasOf(principal);
      checkSnapshotQuota(quotas, existing.length);
      // The new snapshot's size is known only once it is committed: refused here at or over the quota, removed below past it.
      const usedBytes = quotas.limits.snapshotMb === undefined ? 0 : await snapshotBytes(this.runtime, existing);
      checkDiskQuota(quotas, "snapshotMb", usedBytes);
      const taken = name === undefined ? undefined : existing.find((snapshot) => snapshot.name === name);
      if (taken) {
        throw new ControlPlaneError(
          "ALREADY_EXISTS",
          `Snapshot name "${name}" is already taken by your snapshot "${taken.snapshotId}"; choose another name, or remove that snapshot with snapshot_remove first.`,
        );
      }
      const spec = {
        snapshotId: `s-${randomBytes(6).toString("hex")}`,
        principal: principal.id,
        name,
        createdAt: new Date().toISOString(),
      };
      const snapshot = await this.runtime.snapshots.commit(runnerId, spec).catch((error: unknown) => {
        this.audit.record({
          action: "snapshot.create",
          principal: principal.id,
          outcome: "failed",
          runner: runnerId,
          snapshot: spec.snapshotId,
        });
        throw error;
      });
      if (quotas.limits.snapshotMb !== undefined) await this.keepWithinBytes(principal, quotas, usedBytes, snapshot);
      this.audit.record({
        action: "snapshot.create",
        principal: principal.id,
        outcome: "ok",
        runner: runnerId,
        snapshot: snapshot.snapshotId,
        name,
        image: snapshot.image,
      });
      this.log.info(
        { principal: principal.id, runner: runnerId, snapshot: snapshot.snapshotId, image: snapshot.image },
        "snapshot created",
      );
      return toSnapshotInfo(snapshot);
    });
  }

  /** Removes a just-committed snapshot again when what it adds takes the principal past snapshot_mb, and refuses. */
  private async keepWithinBytes(
    principal: Principal,
    quotas: EffectiveQuotas,
    usedBytes: number,
    snapshot: RunnerSnapshot,
  ): Promise<void> {
    const added = await this.runtime.snapshots.addedBytes(snapshot.image);
    try {
      checkDiskQuota(quotas, "snapshotMb", usedBytes, {
        bytes: added,
        outcome: (size) => `this snapshot of runner "${snapshot.sourceRunner}" added ${size}, so it was removed again`,
      });
    } catch (refusal) {
      await this.runtime.snapshots.remove(principal.id, snapshot.snapshotId).catch((error: unknown) => {
        this.log.warn(
          { err: error, principal: principal.id, snapshot: snapshot.snapshotId },
          "a snapshot past the snapshot_mb quota could not be removed; it counts until it is",
        );
      });
      this.audit.record({
        action: "snapshot.create",
        principal: principal.id,
        outcome: "failed",
        runner: snapshot.sourceRunner,
        snapshot: snapshot.snapshotId,
        code: "QUOTA_EXCEEDED",
        size: added,
      });
      throw refusal;
    }
  }

  /** Newest first. */
  async list(principal: Principal): Promise<SnapshotInfo[]> {
    return (await this.runtime.snapshots.list(principal.id)).map(toSnapshotInfo);
  }

  /** By id or name; NOT_FOUND (the same for another principal's snapshot as for a missing one). */
  async resolve(principal: Principal, ref: string): Promise<SnapshotInfo> {
    if (SNAPSHOT_ID_PATTERN.test(ref)) {
      const snapshot = await this.runtime.snapshots.find(principal.id, ref);
      if (snapshot) return toSnapshotInfo(snapshot);
      throw snapshotNotFound(ref);
    }
    if (!RUNNER_NAME_PATTERN.test(ref)) {
      throw new ControlPlaneError(
        "INVALID_ARGUMENT",
        `"${ref}" is not a snapshot id or name (an id is "s-" and 12 hex digits; names ${NAME_RULE}); list your snapshots with snapshot_list.`,
      );
    }
    const snapshot = (await this.runtime.snapshots.list(principal.id)).find((candidate) => candidate.name === ref);
    if (!snapshot) throw snapshotNotFound(ref);
    return toSnapshotInfo(snapshot);
  }

  /** Removes the principal's snapshot image; FAILED_PRECONDITION naming the runners still spawned from it. */
  async remove(principal: Principal, ref: string): Promise<SnapshotInfo> {
    const snapshot = await this.resolve(principal, ref);
    await this.runtime.snapshots.remove(principal.id, snapshot.snapshotId);
    this.audit.record({
      action: "snapshot.remove",
      principal: principal.id,
      outcome: "ok",
      snapshot: snapshot.snapshotId,
      image: snapshot.image,
    });
    this.log.info({ principal: principal.id, snapshot: snapshot.snapshotId }, "snapshot removed");
    return snapshot;
  }

  /**
   * Fixes the image of a spawn: `snapshot` becomes its image; `image` (or the default) is resolved as the engine would
   * and checked by the ImageGate (another principal's snapshot, by whatever reference, looks exactly like a missing image).
   * POLICY_DENIED is audited here.
   */
  async spawnSource(principal: Principal, request: SpawnRequest): Promise<SpawnSource> {
    if (request.snapshot !== undefined && request.image !== undefined) {
      throw new ControlPlaneError(
        "INVALID_ARGUMENT",
        `image "${request.image}" and snapshot "${request.snapshot}" were both given; a runner runs one of them: pass snapshot to start from your snapshot, or image for an image.`,
      );
    }
    if (request.snapshot !== undefined) {
      const { image } = await this.resolve(principal, request.snapshot);
      return { request: { ...request, snapshot: undefined, image }, ownSnapshot: true, pinned: false };
    }
    try {
      const policy = principal.policy;
      const choice = await this.images.choose(
        principal.id,
        request.image ?? this.images.defaultImage,
        policy ? { policy: policy.name, images: policy.images, pull: policy.pull } : undefined,
      );
      return {
        request: { ...request, image: choice.image },
        ownSnapshot: choice.ownSnapshot,
        pinned: choice.pinned,
        pinPatterns: choice.pinPatterns,
        pullPolicy: choice.pullPolicy,
        pull: choice.pull,
      };
    } catch (error) {
      if (error instanceof PolicyDeniedError) recordDenial(this.audit, principal.id, error);
      throw error;
    }
  }
}

function checkSnapshotName(name: string): string {
  if (!RUNNER_NAME_PATTERN.test(name))
    throw new ControlPlaneError("INVALID_ARGUMENT", `name "${name}" is not valid: ${NAME_RULE}.`);
  if (SNAPSHOT_ID_PATTERN.test(name))
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      `name "${name}" looks like a snapshot id ("s-" and 12 hex digits); choose another name.`,
    );
  return name;
}

/** The one "not found" of snapshot lookups: another principal's snapshot looks exactly like a missing one. */
export function snapshotNotFound(ref: string): ControlPlaneError {
  return new ControlPlaneError(
    "NOT_FOUND",
    `Snapshot "${ref}" not found for this principal; list your snapshots with snapshot_list, or create one with snapshot_create.`,
    {
      hint: "snapshot_list shows your snapshots by id and name; snapshot_create takes a new one from a runner.",
    },
  );
}

function toSnapshotInfo({ principal: _owner, ...snapshot }: RunnerSnapshot): SnapshotInfo {
  return snapshot;
}
