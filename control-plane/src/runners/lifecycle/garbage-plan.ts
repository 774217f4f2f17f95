import type { LifecycleConfig } from "../../config.js";
import type { AgentVolumeInfo, HelperContainer } from "../../runtime/engine-leftovers.js";
import type { RunnerContainer } from "../../runtime/runner-containers.js";
import { isUnclaimedPooled } from "../../runtime/runner-ownership.js";
import type { RunnerSnapshot } from "../../runtime/runner-snapshots.js";
import type { WorkspaceVolume } from "../../runtime/workspace-volumes.js";

/** What garbage collection deletes, and why. */
export type GarbageKind =
  "runner" | "workspace" | "snapshot" | "export" | "agent_volume" | "helper_container" | "image";
export type GarbageReason = "max_lifetime" | "retention" | "unused_agent_version" | "dangling" | "unused_pulled_image";

/** One thing to delete (or, in `warnings`, to be deleted soon). */
export interface GarbageItem {
  kind: GarbageKind;
  /** Runner id, workspace key, snapshot id, export file name, volume name, container name or image reference. */
  id: string;
  /** The owner, for what a principal owns. */
  principal?: string | undefined;
  reason: GarbageReason;
  /** Bytes it frees, when known. */
  bytes?: number | undefined;
  /** ISO 8601: when it became (or becomes) due. */
  dueAt: string;
  /** What the deletion needs that the plan does not show (the export's paths, the volume's name). */
  ref?: string | undefined;
}

/** An export in the export root, as its manifest says. */
export interface StoredExport {
  principal: string;
  /** The export's file or folder name. */
  name: string;
  createdAt: string;
  bytes: number;
}

/** Everything the plan is made from: one consistent look at the engine, the store and the export root. */
export interface GarbageInputs {
  now: number;
  runners: RunnerContainer[];
  workspaces: WorkspaceVolume[];
  /** principal → workspace key → last use (ISO). */
  workspaceUse: Map<string, Map<string, string>>;
  snapshots: RunnerSnapshot[];
  exports: StoredExport[];
  agentVolumes: AgentVolumeInfo[];
  /** The agent this control plane delivers; undefined when its bundle cannot be read (then no agent volume goes). */
  currentAgent: { version: string; digest: string } | undefined;
  helpers: HelperContainer[];
  /** Images this control plane pulled for runners (empty unless lifecycle.gc_images). */
  pulledImages: string[];
  /** Images never removed: images.default and images.prepull. */
  keepImages: string[];
  /** Images (references and ids) some container uses. */
  imagesInUse: Set<string>;
}

export type RetentionSettings = Pick<
  LifecycleConfig,
  "runnerMaxLifetimeS" | "workspaceRetentionS" | "snapshotRetentionS" | "exportRetentionS" | "retentionWarningS"
>;

/** The plan: what is due now, and what becomes due within the warning time (for warnings to owners). */
export interface GarbagePlan {
  due: GarbageItem[];
  soon: GarbageItem[];
}

/** Helpers and unused agent volumes younger than this are left alone: another control plane may be using them right now. */
export const LEFTOVER_GRACE_MS = 60 * 60 * 1000;

/**
 * Decides what garbage collection deletes. Only what is expired or left over, never what is in use: a workspace
 * or agent volume a container mounts (running or stopped), a snapshot a runner was spawned from, an image a
 * container uses, images.default and prepulls. A runner that expires now releases its workspace, whose retention
 * then counts from the runner's removal (its last use).
 */
export function planGarbage(input: GarbageInputs, settings: RetentionSettings): GarbagePlan {
  const due: GarbageItem[] = [];
  const soon: GarbageItem[] = [];
  const warnMs = settings.retentionWarningS * 1000;
  const consider = (item: Omit<GarbageItem, "dueAt">, since: string, keepS: number): void => {
    const start = Date.parse(since);
    if (keepS === 0 || Number.isNaN(start)) return;
    const dueAt = start + keepS * 1000;
    const entry = { ...item, dueAt: new Date(dueAt).toISOString() };
    if (dueAt <= input.now) due.push(entry);
    else if (dueAt - input.now <= warnMs) soon.push(entry);
  };

  for (const runner of input.runners) {
    // An unclaimed pooled runner belongs to its pool, which removes it (shrinking, a changed configuration).
    if (isUnclaimedPooled(runner)) continue;
    consider(
      { kind: "runner", id: runner.runnerId, principal: runner.principal, reason: "max_lifetime" },
      runner.createdAt,
      settings.runnerMaxLifetimeS,
    );
  }
  for (const volume of input.workspaces) {
    // Mounted by a runner, even a stopped one or one expiring now: kept (an expiring runner's removal is a last use).
    if (volume.usedBy.length > 0) continue;
    const lastUse = input.workspaceUse.get(volume.principal)?.get(volume.workspaceKey);
    consider(
      {
        kind: "workspace",
        id: volume.workspaceKey,
        principal: volume.principal,
        reason: "retention",
        bytes: volume.sizeBytes,
        ref: volume.name,
      },
      latest(lastUse, volume.createdAt),
      settings.workspaceRetentionS,
    );
  }
  const runnerImages = new Set(input.runners.map((runner) => runner.image));
  for (const snapshot of input.snapshots) {
    if (runnerImages.has(snapshot.image)) continue;
    consider(
      {
        kind: "snapshot",
        id: snapshot.snapshotId,
        principal: snapshot.principal,
        reason: "retention",
        bytes: snapshot.sizeBytes,
        ref: snapshot.image,
      },
      snapshot.createdAt,
      settings.snapshotRetentionS,
    );
  }
  for (const stored of input.exports) {
    consider(
      { kind: "export", id: stored.name, principal: stored.principal, reason: "retention", bytes: stored.bytes },
      stored.createdAt,
      settings.exportRetentionS,
    );
  }
  const old = (createdAt: string): boolean => input.now - Date.parse(createdAt) >= LEFTOVER_GRACE_MS;
  const now = new Date(input.now).toISOString();
  for (const volume of input.currentAgent ? input.agentVolumes : []) {
    const current = volume.version === input.currentAgent?.version && volume.digest === input.currentAgent.digest;
    if (current || volume.usedBy.length > 0 || !old(volume.createdAt)) continue;
    due.push({ kind: "agent_volume", id: volume.name, reason: "unused_agent_version", dueAt: now });
  }
  for (const helper of input.helpers) {
    if (!old(helper.createdAt)) continue;
    due.push({ kind: "helper_container", id: helper.name, reason: "dangling", dueAt: now, ref: helper.id });
  }
  const keep = new Set(input.keepImages);
  for (const image of input.pulledImages) {
    if (keep.has(image) || input.imagesInUse.has(image)) continue;
    due.push({ kind: "image", id: image, reason: "unused_pulled_image", dueAt: now });
  }
  return { due, soon };
}

function latest(a: string | undefined, b: string): string {
  return a !== undefined && a.localeCompare(b) > 0 ? a : b;
}

/** One line per item, for `devhatchery gc` and logs: "workspace alice/ws-1 (retention, due 2026-…, 12.0 MB)". */
export function describeGarbage(item: GarbageItem): string {
  const owner = item.principal ? `${item.principal}/` : "";
  const size = item.bytes !== undefined ? `, ${(item.bytes / 1_000_000).toFixed(1)} MB` : "";
  return `${item.kind.padEnd(16)} ${owner}${item.id} (${item.reason.replace(/_/g, " ")}, due ${item.dueAt}${size})`;
}
