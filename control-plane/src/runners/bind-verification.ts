import { statIdentity } from "../agent-client/fs-calls.js";
import type { AgentClient } from "../agent-client/agent-client.js";
import type { AuditLog } from "../audit.js";
import type { HostBind } from "../runtime/container-runtime.js";
import { mountFolderChanged } from "./mount-policy.js";

/** What the agent reports when it is too old to give a device and inode. */
const UNKNOWN_IDENTITY = "0:0";

/**
 * Docker resolves a bind's source path again whenever the container starts, so a folder swapped for a symlink after
 * the check is what gets mounted. This asks the started runner's agent for the `dev:ino` at each checked bind's
 * target and returns PERMISSION_DENIED for the first one that differs from the check (undefined when all match);
 * each differing bind is audited as "mount.changed". Binds without a check (older runners) are not verified.
 */
export async function verifyBinds(
  client: AgentClient,
  binds: readonly HostBind[],
  phase: "created" | "started",
  audit: { log: AuditLog; principal: string; runner: string },
): Promise<Error | undefined> {
  let refusal: Error | undefined;
  for (const bind of binds) {
    if (!bind.check) continue;
    const seen = await statIdentity(client, bind.target).catch((error: unknown) => `unreadable (${(error as Error).message})`);
    if (seen === bind.check.identity) continue;
    audit.log.record({ action: "mount.changed", principal: audit.principal, outcome: "denied", runner: audit.runner, alias: bind.check.alias, subpath: bind.check.subpath, source: bind.source, target: bind.target, phase });
    const why =
      seen === UNKNOWN_IDENTITY
        ? `the runner's agent cannot report which folder is mounted at "${bind.target}" (it predates mount verification; rebuild the image with the current agent)`
        : `"${bind.target}" in the runner is not the folder that was checked (device:inode "${seen}", expected "${bind.check.identity}"; it was replaced, e.g. by a symlink)`;
    refusal ??= mountFolderChanged(bind.check.alias, bind.check.subpath, phase, why);
  }
  return refusal;
}
