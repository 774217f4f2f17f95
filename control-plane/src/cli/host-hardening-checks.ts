import { readFileSync, realpathSync } from "node:fs";
import type { AllowedRoot } from "../config.js";
import type { ConfigProblem } from "../config/config-error.js";
import { isInsidePath } from "../runners/mounts/host-path.js";

/** What the host and engine tell about hardening; undefined where it could not be read. */
export interface HostHardeningFacts {
  /** /proc/self/mountinfo. */
  mountinfo: string | undefined;
  /** `docker info` SecurityOptions, e.g. ["name=seccomp,profile=default", "name=userns"]. */
  securityOptions: string[] | undefined;
  inotifyInstances: number | undefined;
  inotifyWatches: number | undefined;
}

/** Below these, one tenant's watches can use up the host-wide per-user inotify limits (kernel defaults: 128 and 8192). */
export const MIN_INOTIFY_INSTANCES = 1024;
export const MIN_INOTIFY_WATCHES = 524_288;

/** The mount holding `path` (absolute, symlinks resolved): the longest mount point above it, the last one when stacked. */
export function mountHolding(path: string, mountinfo: string): { mountPoint: string; options: string[] } | undefined {
  let best: { mountPoint: string; options: string[] } | undefined;
  for (const line of mountinfo.split("\n")) {
    const fields = line.split(" ");
    const mountPoint = fields[4];
    const options = fields[5];
    if (mountPoint === undefined || options === undefined) continue;
    const decoded = mountPoint.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
    if (isInsidePath(decoded, path) && (!best || decoded.length >= best.mountPoint.length))
      best = { mountPoint: decoded, options: options.split(",") };
  }
  return best;
}

/** Warnings (never errors) about what an operator must set for untrusted tenants: nosuid rw roots, userns-remap, inotify limits. */
export function hardeningWarnings(
  roots: readonly AllowedRoot[],
  facts: HostHardeningFacts,
  resolve: (path: string) => string = realpathSync,
): ConfigProblem[] {
  const warnings: ConfigProblem[] = [];
  roots.forEach((root, index) => {
    if (!root.allowRw || facts.mountinfo === undefined) return;
    let real: string;
    try {
      real = resolve(root.hostPath);
    } catch {
      return; // a missing root is already a problem of its own
    }
    const mount = mountHolding(real, facts.mountinfo);
    if (!mount || mount.options.includes("nosuid")) return;
    warnings.push({
      where: `allowed_roots[${index}].path`,
      message:
        `the rw root "${root.hostPath}" (alias "${root.alias}") is on the mount "${mount.mountPoint}", which allows setuid: a runner can leave a setuid-root ` +
        `program there that a host user could run as root (Docker cannot bind with nosuid). Put rw roots on a filesystem mounted with nosuid,nodev ` +
        `(fstab options, or \`mount -o remount,nosuid,nodev ${mount.mountPoint}\`; a bind mount of the folder onto itself with those options works too).`,
    });
  });
  const options = facts.securityOptions;
  if (options && !options.some((option) => /(^|,)name=(userns|rootless)(,|$)/.test(option))) {
    warnings.push({
      where: "docker",
      message:
        'the engine does not remap user namespaces (its security options have no "name=userns"): root in a runner is root on the host for files written ' +
        'to rw mounts and after any container escape. Set "userns-remap": "default" in /etc/docker/daemon.json and restart dockerd (images and volumes ' +
        "made before are not visible under the remapped root; pull or build them again).",
    });
  }
  const { inotifyInstances: instances, inotifyWatches: watches } = facts;
  if (
    (instances !== undefined && instances < MIN_INOTIFY_INSTANCES) ||
    (watches !== undefined && watches < MIN_INOTIFY_WATCHES)
  ) {
    warnings.push({
      where: "fs.inotify",
      message:
        `max_user_instances is ${instances ?? "unknown"} and max_user_watches is ${watches ?? "unknown"} (at least ${MIN_INOTIFY_INSTANCES} and ${MIN_INOTIFY_WATCHES} are advised): ` +
        "every runner's file watches count against one per-user limit of the host, so one tenant can use it up for all. Raise them with " +
        "`sysctl -w fs.inotify.max_user_instances=8192 fs.inotify.max_user_watches=1048576` and keep them in /etc/sysctl.d/90-devhatchery.conf.",
    });
  }
  return warnings;
}

/** Hardening warnings as validate prints them on stderr: the configuration is still valid. */
export function formatWarnings(warnings: readonly { where: string; message: string }[]): string {
  const count = `${warnings.length} hardening warning${warnings.length === 1 ? "" : "s"}`;
  return [
    `${count} (the configuration is valid; see docs/security.md, "Host hardening"):`,
    ...warnings.map((warning) => `  ! ${warning.where}: ${warning.message}`),
    "",
  ].join("\n");
}

/** Reads the host's facts from /proc (undefined where missing, e.g. not Linux); the engine's options come from the caller. */
export function readHostFacts(securityOptions: string[] | undefined): HostHardeningFacts {
  const read = (path: string): string | undefined => {
    try {
      return readFileSync(path, "utf8");
    } catch {
      return undefined;
    }
  };
  const number = (path: string): number | undefined => {
    const text = read(path)?.trim();
    return text && /^\d+$/.test(text) ? Number(text) : undefined;
  };
  return {
    mountinfo: read("/proc/self/mountinfo"),
    securityOptions,
    inotifyInstances: number("/proc/sys/fs/inotify/max_user_instances"),
    inotifyWatches: number("/proc/sys/fs/inotify/max_user_watches"),
  };
}
