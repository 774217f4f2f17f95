import { readdir, readFile, rm } from "node:fs/promises";
import { join } from "node:path";
import type { AuditLog } from "../../audit.js";
import type { LifecycleConfig } from "../../config.js";
import { asControlPlaneError } from "../../errors.js";
import type { Logger } from "../../log.js";
import { NO_METER, type Meter } from "../../meter.js";
import type { ContainerRuntime } from "../../runtime/container-runtime.js";
import type { StateStore } from "../../store/state-store.js";
import { MANIFEST_SUFFIX, type ExportManifest } from "../exports/export-manifest.js";
import {
  planGarbage,
  type GarbageInputs,
  type GarbageItem,
  type GarbagePlan,
  type StoredExport,
} from "./garbage-plan.js";

/** How the owner-facing deletions are done: through the runner service's locks in a server, directly in the CLI. */
export interface GarbageHooks {
  /** Removes an expired runner (its workspace volume stays). */
  removeRunner(item: GarbageItem): Promise<void>;
  /** Removes an expired workspace volume unless a runner mounts it (or a spawn is about to). */
  removeWorkspace(item: GarbageItem): Promise<void>;
  /** Tells the owner's connected sessions (an MCP log message); `runnerId` for a runner. */
  notify(principal: string, runnerId: string | undefined, text: string): void;
}

export interface GarbageSettings {
  lifecycle: LifecycleConfig;
  exportRoot: string;
  /** images.default and images.prepull: never removed. */
  keepImages: string[];
}

/** What one collection did: the plan it followed, what it deleted and what it could not. */
export interface GarbageReport {
  plan: GarbagePlan;
  deleted: GarbageItem[];
  failed: Array<{ item: GarbageItem; error: string }>;
}

type Runtime = Pick<ContainerRuntime, "containers" | "workspaces" | "snapshots" | "leftovers">;

/**
 * Deletes what lifecycle.* says has expired or is left over (see planGarbage), on a timer in the server and once
 * from `devhatchery gc`. Every deletion is audited (gc.delete, with kind, reason and owner) and counted
 * (devhatchery_gc_deletions_total); owners' sessions are warned lifecycle.retention_warning_s before their runners,
 * workspaces, snapshots and exports go. A deletion that fails (in use after all, engine down) is logged and tried
 * again at the next collection.
 */
export class GarbageCollector {
  /** kind:id of items whose owners were warned, so each is warned once (per process). */
  private readonly warned = new Set<string>();
  private collecting: Promise<GarbageReport> | undefined;

  constructor(
    private readonly runtime: Runtime,
    private readonly store: Pick<StateStore, "allWorkspaceActivity" | "pulledImages" | "forgetPulledImage">,
    private readonly settings: GarbageSettings,
    private readonly hooks: GarbageHooks,
    private readonly log: Logger,
    private readonly audit: AuditLog,
    private readonly meter: Meter = NO_METER,
    private readonly now: () => number = Date.now,
  ) {}

  /** What a collection now would delete, and what becomes due within the warning time; deletes nothing. */
  async plan(): Promise<GarbagePlan> {
    return planGarbage(await this.gather(), this.settings.lifecycle);
  }

  /** Collects once (one collection at a time: a second caller shares the running one). */
  collect(): Promise<GarbageReport> {
    this.collecting ??= this.collectOnce().finally(() => (this.collecting = undefined));
    return this.collecting;
  }

  /** Collects every lifecycle.gc_interval_s; returns the stop. */
  start(): () => void {
    const timer = setInterval(() => {
      this.collect().catch((error: unknown) =>
        this.log.warn({ err: error }, "garbage collection failed; it runs again at the next interval"),
      );
    }, this.settings.lifecycle.gcIntervalS * 1000);
    timer.unref();
    return () => clearInterval(timer);
  }

  private async collectOnce(): Promise<GarbageReport> {
    const plan = await this.plan();
    this.warnOwners(plan.soon);
    const report: GarbageReport = { plan, deleted: [], failed: [] };
    // Runners first: an expiring runner releases its workspace, whose retention then starts.
    for (const item of plan.due) {
      try {
        await this.delete(item);
        report.deleted.push(item);
        this.meter.garbageDeleted(item.kind, item.reason);
        this.audit.record({
          action: "gc.delete",
          principal: item.principal ?? "-",
          outcome: "ok",
          kind: item.kind,
          id: item.id,
          reason: item.reason,
          ...(item.bytes !== undefined ? { size: item.bytes } : {}),
        });
        this.log.info(
          { kind: item.kind, id: item.id, principal: item.principal, reason: item.reason },
          "deleted garbage",
        );
      } catch (error) {
        const failure = asControlPlaneError(error);
        report.failed.push({ item, error: failure.message });
        this.audit.record({
          action: "gc.delete",
          principal: item.principal ?? "-",
          outcome: "failed",
          kind: item.kind,
          id: item.id,
          reason: item.reason,
          code: failure.code,
        });
        this.log.warn({ err: error, kind: item.kind, id: item.id }, "could not delete garbage; trying again next time");
      }
    }
    if (report.deleted.length > 0 || report.failed.length > 0)
      this.log.info({ deleted: report.deleted.length, failed: report.failed.length }, "garbage collected");
    return report;
  }

  private async delete(item: GarbageItem): Promise<void> {
    switch (item.kind) {
      case "runner":
        if (item.principal)
          this.hooks.notify(
            item.principal,
            item.id,
            `Runner ${item.id} reached its maximum lifetime (lifecycle.runner_max_lifetime_s = ${this.settings.lifecycle.runnerMaxLifetimeS} s) and is being removed now; its workspace volume stays.`,
          );
        return this.hooks.removeRunner(item);
      case "workspace":
        return this.hooks.removeWorkspace(item);
      case "snapshot":
        return this.runtime.snapshots.remove(item.principal ?? "", item.id);
      case "export":
        return removeExport(this.settings.exportRoot, item.principal ?? "", item.id);
      case "agent_volume":
        return this.runtime.leftovers.removeAgentVolume(item.id);
      case "helper_container":
        return this.runtime.leftovers.removeHelper(item.ref ?? item.id);
      case "image": {
        const outcome = await this.runtime.leftovers.removeImage(item.id);
        if (outcome === "in_use") throw new Error(`image "${item.id}" is used by a container`);
        this.store.forgetPulledImage(item.id);
        return;
      }
    }
  }

  /** One warning per item and process, to the owner's sessions. */
  private warnOwners(soon: GarbageItem[]): void {
    for (const item of soon) {
      const key = `${item.kind}:${item.principal ?? ""}:${item.id}`;
      if (!item.principal || this.warned.has(key)) continue;
      this.warned.add(key);
      this.hooks.notify(item.principal, item.kind === "runner" ? item.id : undefined, warningText(item));
    }
  }

  private async gather(): Promise<GarbageInputs> {
    const { lifecycle } = this.settings;
    const leftovers = this.runtime.leftovers;
    const [runners, workspaces, snapshots, exports, agentVolumes, currentAgent, helpers, imagesInUse] =
      await Promise.all([
        this.runtime.containers.listAllRunners(),
        lifecycle.workspaceRetentionS > 0 ? this.runtime.workspaces.listAll({ sizes: true }) : Promise.resolve([]),
        lifecycle.snapshotRetentionS > 0 ? this.runtime.snapshots.listAll() : Promise.resolve([]),
        lifecycle.exportRetentionS > 0 ? storedExports(this.settings.exportRoot) : Promise.resolve([]),
        leftovers.agentVolumes(),
        leftovers.currentAgent().catch((error: unknown) => {
          this.log.warn({ err: error }, "the agent bundle cannot be read; agent volumes are kept");
          return undefined;
        }),
        leftovers.helperContainers(),
        lifecycle.gcImages ? leftovers.imagesInUse() : Promise.resolve(new Set<string>()),
      ]);
    return {
      now: this.now(),
      runners,
      workspaces,
      workspaceUse: this.store.allWorkspaceActivity(),
      snapshots,
      exports,
      agentVolumes,
      currentAgent,
      helpers,
      pulledImages: lifecycle.gcImages ? this.store.pulledImages().map((row) => row.image) : [],
      keepImages: this.settings.keepImages,
      imagesInUse,
    };
  }
}

function warningText(item: GarbageItem): string {
  const what = {
    runner: `Runner ${item.id} reaches its maximum lifetime`,
    workspace: `Workspace "${item.id}" has not been used for its retention time`,
    snapshot: `Snapshot ${item.id} reaches its retention time`,
    export: `Export "${item.id}" reaches its retention time`,
  }[item.kind as "runner" | "workspace" | "snapshot" | "export"];
  const keep = {
    runner: "export what you need from it (export_create) before then; its workspace volume stays",
    workspace: "attach a runner to it (runner_attach) to keep it",
    snapshot: "spawn from it to keep it while that runner exists",
    export: "copy it elsewhere before then",
  }[item.kind as "runner" | "workspace" | "snapshot" | "export"];
  return `${what} and will be deleted at ${item.dueAt}; ${keep}.`;
}

/** Every export in the export root, from its manifest (principal folders only; `.staging` is work in progress). */
export async function storedExports(root: string): Promise<StoredExport[]> {
  const principals = await readdir(root, { withFileTypes: true }).catch(() => []);
  const found: StoredExport[] = [];
  for (const folder of principals) {
    if (!folder.isDirectory() || folder.name.startsWith(".")) continue;
    const names = await readdir(join(root, folder.name)).catch(() => [] as string[]);
    for (const name of names.filter((entry) => entry.endsWith(MANIFEST_SUFFIX))) {
      try {
        const manifest = JSON.parse(await readFile(join(root, folder.name, name), "utf8")) as ExportManifest;
        // A manifest that names another principal or another file is not trusted with a deletion.
        if (manifest.principal !== folder.name || `${manifest.name}${MANIFEST_SUFFIX}` !== name) continue;
        found.push({
          principal: folder.name,
          name: manifest.name,
          createdAt: manifest.created_at,
          bytes: manifest.bytes_written,
        });
      } catch {
        continue;
      }
    }
  }
  return found;
}

/** Deletes an export (its archive or folder, then its manifest) from its owner's folder of the export root. */
async function removeExport(root: string, principal: string, name: string): Promise<void> {
  if (!principal || principal.startsWith(".") || /[/\\]/.test(principal) || /[/\\]/.test(name) || name.startsWith("."))
    throw new Error(`refusing to delete export "${name}" of "${principal}": not a plain name`);
  const folder = join(root, principal);
  await rm(join(folder, name), { recursive: true, force: true });
  await rm(join(folder, name + MANIFEST_SUFFIX), { force: true });
}
