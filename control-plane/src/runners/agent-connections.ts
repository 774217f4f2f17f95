import type { AgentClient } from "../agent-client/agent-client.js";

interface Connection {
  principal: string;
  client: AgentClient;
  workspaceKey: string | undefined;
}

/** Open agent connections by runner id, with their owner, and the refs (aliases, keys) that led to them; dropping one closes it. */
export class AgentConnections {
  private readonly connections = new Map<string, Connection>();
  /** `principal \0 ref` → runner id, for refs that are aliases or workspace keys. */
  private readonly refs = new Map<string, string>();

  /** The cached client `ref` (a runner id, or an alias or key used before) leads to, when `principal` owns it. */
  get(
    principal: string,
    ref: string,
  ): { runnerId: string; client: AgentClient; workspaceKey: string | undefined } | undefined {
    const runnerId = this.refs.get(`${principal}\0${ref}`) ?? ref;
    const connection = this.connections.get(runnerId);
    return connection?.principal === principal
      ? { runnerId, client: connection.client, workspaceKey: connection.workspaceKey }
      : undefined;
  }

  set(principal: string, runnerId: string, client: AgentClient, workspaceKey: string | undefined, ref?: string): void {
    const previous = this.connections.get(runnerId);
    if (previous && previous.client !== client) previous.client.close();
    this.connections.set(runnerId, { principal, client, workspaceKey });
    if (ref !== undefined && ref !== runnerId) this.refs.set(`${principal}\0${ref}`, runnerId);
  }

  /** Closes and forgets the connection to a runner that stopped, died or was removed, and the refs that led to it. */
  drop(runnerId: string): void {
    this.connections.get(runnerId)?.client.close();
    this.connections.delete(runnerId);
    for (const [ref, id] of this.refs) if (id === runnerId) this.refs.delete(ref);
  }

  closeAll(): void {
    for (const { client } of this.connections.values()) client.close();
    this.connections.clear();
    this.refs.clear();
  }
}
