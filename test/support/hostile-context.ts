import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import type { Tool } from "@modelcontextprotocol/sdk/types.js";

/** What the victim owns: every id, name and key the attacker tries to reach. */
export interface VictimObjects {
  principal: string;
  runnerId: string;
  alias: string;
  workspaceKey: string;
  /** The Docker names and ids behind the runner, which no tool should accept either. */
  volume: string;
  containerId: string;
  containerName: string;
  execId: string;
  watchId: string;
  snapshotId: string;
  snapshotName: string;
  /** The snapshot's local image reference, e.g. devhatchery-snapshot/<hash>:s-…, and its `sha256:` image id. */
  snapshotImage: string;
  snapshotImageId: string;
  taskId: string;
  jobId: string;
  exportName: string;
  sessionId: string;
  token: string;
}

/** Everything the tables need: the server's surface, the two principals and what the victim owns. */
export interface MatrixContext {
  url: string;
  /** The server's tools/list and resource templates, so that a new tool or template without rows fails the suite. */
  tools: Tool[];
  templates: string[];
  victim: VictimObjects;
  victimClient: Client;
  /** The attacker's runner (tmpfs, the rw root mounted) and a workspace of its own that has no runner. */
  attacker: { principal: string; token: string; runnerId: string; sessionId: string; idleWorkspace: string };
  attackerClient: Client;
}

/** Every string that names the victim's objects: no answer to the attacker may contain one. */
export function victimSecrets(victim: VictimObjects): string[] {
  return [
    victim.principal,
    victim.runnerId,
    victim.alias,
    victim.workspaceKey,
    victim.volume,
    victim.execId,
    victim.watchId,
    victim.snapshotId,
    victim.snapshotName,
    victim.taskId,
    victim.jobId,
    victim.exportName,
  ];
}
