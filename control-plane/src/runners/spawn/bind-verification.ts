import type { AgentClient } from "../../agent-client/agent-client.js";
import type { AuditLog } from "../../audit.js";
import type { Logger } from "../../log.js";
import type { HostBind } from "../../runtime/runner-container-spec.js";
import { mountFolderChanged } from "../mounts/mount-policy.js";
import { compareMount, readMountTables, type MountTables } from "../mounts/mount-table.js";

/** What the agent reports when it is too old to give a device and inode. */
const UNKNOWN_IDENTITY = "0:0";

/** The started runner's container and its init process as the engine reports it (no pid: not visible). */
export interface RunnerProcess {
  containerId: string;
  pid?: number | undefined;
}

let agentOnlyNoticeLogged = false;

/**
 * The engine resolves a bind's source path again whenever the container starts, so a folder swapped for a symlink after
 * the check is what gets mounted. This compares each checked bind's target in the started runner with the check and
 * returns PERMISSION_DENIED for the first one that differs (undefined when all match); each differing bind is audited
 * as "mount.changed". Binds without a check (older runners) are not verified.
 *
 * Where the control plane sees the runner's process, the kernel's mount table of the container decides (nothing in
 * the runner is trusted); otherwise the runner's agent is asked for the `dev:ino` at the target, which a tenant who
 * controls the image or the agent's environment can fake (docs/security.md).
 */
export async function verifyBinds(
  client: AgentClient,
  binds: readonly HostBind[],
  phase: "created" | "started",
  audit: { log: AuditLog; principal: string; runner: string },
  runner: RunnerProcess,
  log?: Logger,
): Promise<Error | undefined> {
  const checked = binds.flatMap((bind) => (bind.check ? [{ bind, check: bind.check }] : []));
  if (checked.length === 0) return undefined;
  const tables = await readMountTables(runner.containerId, runner.pid);
  if (!tables && log && !agentOnlyNoticeLogged) {
    agentOnlyNoticeLogged = true;
    log.warn(
      { runner: audit.runner, pid: runner.pid },
      "mount verification relies on the runner's agent: the control plane cannot read runner processes' mount tables in /proc (run it in the host's pid namespace for the kernel-side check; docs/security.md)",
    );
  }
  let refusal: Error | undefined;
  for (const { bind, check } of checked) {
    const why = tables
      ? kernelMismatch(bind, check.identity, tables, log)
      : await agentMismatch(client, bind, check.identity);
    if (why === undefined) continue;
    audit.log.record({
      action: "mount.changed",
      principal: audit.principal,
      outcome: "denied",
      runner: audit.runner,
      alias: check.alias,
      subpath: check.subpath,
      source: bind.source,
      target: bind.target,
      phase,
    });
    refusal ??= mountFolderChanged(check.alias, check.subpath, phase, why);
  }
  return refusal;
}

function kernelMismatch(
  bind: HostBind,
  identity: string,
  tables: MountTables,
  log: Logger | undefined,
): string | undefined {
  const mismatch = compareMount(tables, bind.target, bind.source, BigInt(/^\d+/.exec(identity)?.[0] ?? "0"));
  if (mismatch === undefined) return undefined;
  log?.warn({ target: bind.target, source: bind.source, mismatch }, "a runner's mount is not the checked folder");
  switch (mismatch.kind) {
    case "not-mounted":
      return `nothing is mounted at "${bind.target}" in the runner (a folder on that path was replaced, e.g. by a symlink, so the mount went elsewhere)`;
    case "not-on-checked-device":
      return `the checked folder is no longer on the device it was checked on (device "${mismatch.device}")`;
    case "other-folder":
      return `"${bind.target}" in the runner is not the folder that was checked (the kernel's mount table shows another folder mounted there; it was replaced, e.g. by a symlink)`;
  }
}

async function agentMismatch(client: AgentClient, bind: HostBind, identity: string): Promise<string | undefined> {
  const seen = await client.fs
    .identity(bind.target)
    .catch((error: unknown) => `unreadable (${(error as Error).message})`);
  if (seen === identity) return undefined;
  return seen === UNKNOWN_IDENTITY
    ? `the runner's agent cannot report which folder is mounted at "${bind.target}" (it predates mount verification; rebuild the image with the current agent)`
    : `"${bind.target}" in the runner is not the folder that was checked (device:inode "${seen}", expected "${identity}"; it was replaced, e.g. by a symlink)`;
}
