import { credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { AGENT_AUTH_METADATA_KEY, AGENT_CORRELATION_METADATA_KEY } from "@devhatchery/proto/contract";
import { ExecServiceClient } from "@devhatchery/proto/agent/v1/exec";
import type { FsServiceClient } from "@devhatchery/proto/agent/v1/fs";
import { HealthClient } from "@devhatchery/proto/health/v1";
import { TokenServiceClient } from "@devhatchery/proto/agent/v1/token";
import { WatchServiceClient } from "@devhatchery/proto/agent/v1/watch";
import type { ControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import { currentRequestContext } from "../request-context.js";
import { createAgentCallInterceptor } from "./agent-call-tracing.js";
import { FsTransferClient } from "./fs-transfer-client.js";
import { fromGrpcError } from "./grpc-errors.js";

/** Largest message either side may send; matches the agent. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/**
 * HTTP/2 receive window (per stream and per connection) for what the agent sends, e.g. Read: Node's 64 KiB default
 * holds a download to one window per round trip. The agent sets the same for what it receives.
 */
const RECEIVE_WINDOW_BYTES = 4 * 1024 * 1024;

/**
 * The generated gRPC clients of one agent, the metadata every call carries and the error mapping. Internal to
 * agent-client/: the role clients are built on it, nothing outside sees it.
 */
export class AgentTransport {
  readonly exec: ExecServiceClient;
  readonly fs: FsServiceClient;
  readonly watch: WatchServiceClient;
  readonly health: HealthClient;
  readonly token: TokenServiceClient;
  /** The runner token every call carries; replaced after a confirmed rotation (useToken). */
  #currentToken: string;

  constructor(
    readonly runnerId: string,
    address: string,
    token: string,
    log?: Logger,
  ) {
    this.#currentToken = token;
    const options = {
      "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
      "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
      // A runner's agent starts within a few hundred milliseconds: retry connecting quickly, not after grpc's 1 s default.
      "grpc.initial_reconnect_backoff_ms": 20,
      "grpc.max_reconnect_backoff_ms": 1_000,
      "grpc-node.flow_control_window": RECEIVE_WINDOW_BYTES,
    };
    // A fresh object per client: grpc-js takes `interceptors` out of the options it is given.
    const interceptor = createAgentCallInterceptor(runnerId, log);
    const clientOptions = () => ({ ...options, interceptors: [interceptor] });
    const creds = credentials.createInsecure();
    this.exec = new ExecServiceClient(address, creds, clientOptions());
    this.fs = new FsTransferClient(address, creds, clientOptions());
    this.watch = new WatchServiceClient(address, creds, clientOptions());
    this.health = new HealthClient(address, creds, clientOptions());
    this.token = new TokenServiceClient(address, creds, clientOptions());
  }

  /** Sends `token` on every call from now on (calls already started keep the metadata they were sent with). */
  useToken(token: string): void {
    this.#currentToken = token;
  }

  /** Metadata carrying the runner's token and the current request's correlation id, for every call to this agent. */
  metadata(): Metadata {
    const metadata = new Metadata();
    metadata.set(AGENT_AUTH_METADATA_KEY, `Bearer ${this.#currentToken}`);
    const correlationId = currentRequestContext()?.correlationId;
    if (correlationId) metadata.set(AGENT_CORRELATION_METADATA_KEY, correlationId);
    return metadata;
  }

  /** A failed call's error as a ControlPlaneError naming this runner. */
  fail(error: unknown): ControlPlaneError {
    return fromGrpcError(error, this.runnerId);
  }

  /** Turns a unary call's callback into a promise of `value(response)`, failures mapped by `fail`. */
  unary<R, T>(
    start: (done: (error: ServiceError | null, response: R) => void) => void,
    value: (response: R) => T,
  ): Promise<T> {
    return new Promise((resolve, reject) =>
      start((error, response) => (error ? reject(this.fail(error)) : resolve(value(response)))),
    );
  }

  close(): void {
    this.exec.close();
    this.fs.close();
    this.watch.close();
    this.health.close();
    this.token.close();
  }
}
