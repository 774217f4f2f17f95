import type { AuditLog } from "../../audit.js";
import { ControlPlaneError } from "../../errors.js";
import type { Logger } from "../../log.js";
import type { ContainerRuntime } from "../../runtime/container-runtime.js";
import type { WorkspaceVolume } from "../../runtime/workspace-volumes.js";
import type { StateStore } from "../../store/state-store.js";
import type { Principal, WorkspaceInfo } from "../runner.js";

/** A principal's workspaces (their /work volumes): listed with last use, removed only when no runner mounts them. */
export class WorkspaceService {
  constructor(
    private readonly runtime: Pick<ContainerRuntime, "workspaces">,
    private readonly store: StateStore,
    private readonly log: Logger,
    private readonly audit: AuditLog,
  ) {}

  /** Most recently used first (never used: newest first). */
  async list(principal: Principal, options: { sizes?: boolean } = {}): Promise<WorkspaceInfo[]> {
    const volumes = await this.runtime.workspaces.list(principal.id, { sizes: options.sizes ?? false });
    const activity = this.store.workspaceActivity(principal.id);
    const recency = (info: WorkspaceInfo): string => info.lastUsedAt ?? info.createdAt;
    return volumes
      .map((volume) => toWorkspaceInfo(volume, activity.get(volume.workspaceKey)))
      .sort((a, b) => recency(b).localeCompare(recency(a)));
  }

  async find(principal: Principal, workspaceKey: string): Promise<WorkspaceVolume | undefined> {
    return this.runtime.workspaces.find(principal.id, workspaceKey);
  }

  /** Removes the workspace's volume and its history; VOLUME_IN_USE while a runner (even a stopped one) mounts it. */
  async remove(principal: Principal, workspaceKey: string): Promise<WorkspaceInfo> {
    const volume = await this.runtime.workspaces.find(principal.id, workspaceKey);
    if (!volume) throw workspaceNotFound(workspaceKey);
    if (volume.usedBy.length > 0) throw volumeInUse(workspaceKey, volume.usedBy);
    await this.runtime.workspaces.remove(volume.name);
    const lastUsedAt = this.store.workspaceActivity(principal.id).get(workspaceKey);
    this.store.forgetWorkspace(principal.id, workspaceKey);
    this.audit.record({
      action: "volume.remove",
      principal: principal.id,
      outcome: "ok",
      workspace: workspaceKey,
      volume: volume.name,
    });
    this.log.info({ principal: principal.id, workspace: workspaceKey, volume: volume.name }, "workspace removed");
    return toWorkspaceInfo(volume, lastUsedAt);
  }
}

function toWorkspaceInfo(volume: WorkspaceVolume, lastUsedAt: string | undefined): WorkspaceInfo {
  return {
    workspaceKey: volume.workspaceKey,
    volume: volume.name,
    createdAt: volume.createdAt,
    sizeBytes: volume.sizeBytes,
    lastUsedAt,
    runners: volume.usedBy,
  };
}

/** The same shape for a workspace of another principal as for one that never existed. */
export function workspaceNotFound(workspaceKey: string): ControlPlaneError {
  return new ControlPlaneError(
    "NOT_FOUND",
    `Workspace "${workspaceKey}" not found for this principal; list your workspaces with volume_list.`,
    {
      hint: "volume_list shows your workspaces by workspace_key; runner_spawn with a new workspace_key creates one.",
    },
  );
}

export function volumeInUse(workspaceKey: string, runnerIds: string[]): ControlPlaneError {
  const runners = runnerIds.map((id) => `"${id}"`).join(", ");
  return new ControlPlaneError(
    "VOLUME_IN_USE",
    `Workspace "${workspaceKey}" is still mounted by runner ${runners}; remove ${runnerIds.length > 1 ? "those runners" : "that runner"} with runner_remove first (remove_volume: true removes the workspace with its last runner).`,
    {
      hint: "runner_list shows which runners mount it; runner_remove each of them (remove_volume: true on the last one also deletes the workspace), or volume_remove once none is left.",
    },
  );
}

/** remove_volume on a runner whose workspace another runner also mounts: nothing is removed. */
export function volumeSharedWith(workspaceKey: string, runnerId: string, others: string[]): ControlPlaneError {
  return new ControlPlaneError(
    "VOLUME_IN_USE",
    `Workspace "${workspaceKey}" of runner "${runnerId}" is also mounted by runner ${others.map((id) => `"${id}"`).join(", ")}; nothing was removed. ` +
      "Remove the runner without remove_volume, or remove the other runners first.",
    {
      hint: "runner_remove without remove_volume removes just this runner and keeps the workspace for the others; to delete the workspace, runner_remove the other runners first.",
    },
  );
}
