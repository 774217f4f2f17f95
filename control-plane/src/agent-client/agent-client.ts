import type { Logger } from "../log.js";
import { AgentTransport } from "./agent-transport.js";
import { ExecClient } from "./exec-client.js";
import { FsClient } from "./fs-client.js";
import { HealthClient } from "./health-client.js";
import { TarClient } from "./tar-client.js";
import { TokenClient } from "./token-client.js";
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
  readonly #token: TokenClient;

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
    this.#token = new TokenClient(this.#transport);
  }

  /**
   * Gives the agent `newToken` (at least 32 visible ASCII characters) in place of the current one, authenticated with
   * the current one, checks that the agent answers with the new token's fingerprint, and from then on sends the new
   * token on every call of this client. The old token opens nothing on the agent afterwards. Rotate before handing
   * the client out: calls started while the rotation is under way may be refused. On failure this client keeps the
   * old token; unless the error is INVALID_ARGUMENT, the agent may hold either, so discard the runner.
   */
  rotateToken(newToken: string): Promise<void> {
    return this.#token.rotate(newToken);
  }

  /** Closes the connection to the agent; calls still in flight fail with CANCELLED or UNAVAILABLE. */
  close(): void {
    this.#transport.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.close();
  }
}
