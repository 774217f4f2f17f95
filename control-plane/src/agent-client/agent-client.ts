import type { Logger } from "../log.js";
import { AgentTransport } from "./agent-transport.js";
import { ExecClient } from "./exec-client.js";
import { FsClient } from "./fs-client.js";
import { HealthClient } from "./health-client.js";
import { TarClient } from "./tar-client.js";
import { WatchClient } from "./watch-client.js";

/**
 * One runner's agent, as a few role objects: `exec` (processes), `fs` (files), `watch` (change watches), `tar`
 * (archives) and `health`. Callers get plain domain values and ControlPlaneErrors; the gRPC transport and proto
 * types stay in agent-client/. Close it, or `await using` it, when done.
 */
export class AgentClient implements AsyncDisposable {
  readonly exec: ExecClient;
  readonly fs: FsClient;
  readonly watch: WatchClient;
  readonly tar: TarClient;
  readonly health: HealthClient;
  readonly #transport: AgentTransport;

  constructor(
    readonly runnerId: string,
    address: string,
    token: string,
    /** Where failed calls' transport details go (they are not shown to clients). */
    log?: Logger,
  ) {
    this.#transport = new AgentTransport(runnerId, address, token, log);
    this.exec = new ExecClient(this.#transport);
    this.fs = new FsClient(this.#transport);
    this.watch = new WatchClient(this.#transport);
    this.tar = new TarClient(this.#transport);
    this.health = new HealthClient(this.#transport);
  }

  /** Closes the connection to the agent; calls still in flight fail with CANCELLED or UNAVAILABLE. */
  close(): void {
    this.#transport.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}
