import { existsSync } from "node:fs";
import { join } from "node:path";
import { NO_AUDIT, type AuditLog } from "./audit.js";
import type { ControlPlaneConfig } from "./config.js";
import type { Logger } from "./log.js";
import { GarbageCollector, type GarbageHooks } from "./runners/lifecycle/garbage-collector.js";
import { DockerRuntime } from "./runtime/docker-runtime.js";
import { InstanceScope } from "./runtime/instance-scope.js";
import type { StateStore } from "./store/state-store.js";
import { createSqliteStateStore } from "./store/sqlite-state-store.js";
import { lockStateFolder } from "./store/state-folder-lock.js";

/** What the collector reads of the store when there is none yet: no workspace was ever used, nothing was pulled. */
const NO_STATE: Pick<StateStore, "allWorkspaceActivity" | "pulledImages" | "forgetPulledImage"> = {
  allWorkspaceActivity: () => new Map(),
  pulledImages: () => [],
  forgetPulledImage: () => undefined,
};

/**
 * A garbage collector without a server (`devhatchery gc`, `plan`), on this configuration's engine, instance and state;
 * close() frees the store and the lock. To delete (`lock: true`) it takes the state folder first, so no control plane
 * (and no spawn) runs meanwhile; that throws FAILED_PRECONDITION while one does.
 */
export function openOfflineGarbageCollector(
  config: ControlPlaneConfig,
  log: Logger,
  options: { audit?: AuditLog; lock?: boolean } = {},
): { collector: GarbageCollector; runtime: DockerRuntime; close(): void } {
  const lock = options.lock ? lockStateFolder(config.stateDir) : undefined;
  const statePath = join(config.stateDir, "state.db");
  // A plan creates nothing: without a state file there is simply no recorded use.
  const store = existsSync(statePath) ? createSqliteStateStore(statePath) : undefined;
  const runtime = new DockerRuntime(
    log,
    config.dockerHost,
    config.agent,
    new InstanceScope(config.instance.name, config.instance.adoptUnlabelled),
    store ? { tokens: store.runnerTokens, claims: store.runnerClaims } : {},
  );
  const collector = new GarbageCollector(
    runtime,
    store ?? NO_STATE,
    {
      lifecycle: config.lifecycle,
      exportRoot: config.exports.root,
      keepImages: [config.defaultImage, ...config.prepullImages],
    },
    store ? directHooks(runtime, store) : noDeletions(),
    log,
    options.audit ?? NO_AUDIT,
  );
  return {
    collector,
    runtime,
    close: () => {
      store?.close();
      lock?.release();
    },
  };
}

/** Deletions without a server: the caller holds the state folder, so no spawn can race them. */
function directHooks(runtime: DockerRuntime, store: StateStore): GarbageHooks {
  return {
    removeRunner: async (item) => {
      const container = await runtime.containers.findRunner(item.id);
      if (!container) return;
      await runtime.containers.removeRunner(item.id);
      store.deleteSpawn(item.id);
      store.forgetRunner(item.id);
      if (container.workspaceKey)
        store.touchWorkspace(container.principal, container.workspaceKey, new Date().toISOString());
    },
    removeWorkspace: async (item) => {
      const volume = await runtime.workspaces.find(item.principal ?? "", item.id);
      if (!volume) return;
      // The engine refuses a volume a container mounts as well; this names the runners.
      if (volume.usedBy.length > 0) throw new Error(`mounted by ${volume.usedBy.join(", ")}`);
      await runtime.workspaces.remove(volume.name);
      store.forgetWorkspace(volume.principal, volume.workspaceKey);
    },
    notify: () => undefined,
  };
}

function noDeletions(): GarbageHooks {
  const refuse = (): Promise<void> => Promise.reject(new Error("no state store: nothing to delete"));
  return { removeRunner: refuse, removeWorkspace: refuse, notify: () => undefined };
}
