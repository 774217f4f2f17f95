import { Server, ServerCredentials } from "@grpc/grpc-js";
import { ExecServiceService } from "@devhatchery/proto/agent/v1/exec";
import { WatchServiceService } from "@devhatchery/proto/agent/v1/watch";
import { TokenServiceService } from "@devhatchery/proto/agent/v1/token";
import { HealthService } from "@devhatchery/proto/health/v1";
import { AgentToken } from "./agent-token.js";
import { createExecService } from "./exec/exec-service.js";
import type { ExecSettings } from "./exec/exec-settings.js";
import { ProcessManager } from "./exec/process-manager.js";
import { createFsService, FS_SERVICE_DEFINITION } from "./fs/fs-service.js";
import { FileSystem } from "./fs/file-system.js";
import { createCallContextInterceptor } from "./call-context.js";
import { createCallTracker } from "./debug/call-tracker.js";
import { toProcessRecord, toWatchRecord } from "./debug/debug-records.js";
import { startDebugServer, type DebugServer } from "./debug/debug-server.js";
import { createHealthService } from "./health/health-service.js";
import type { Logger } from "./log.js";
import { raiseReceiveWindow } from "./receive-window.js";
import { addLazyReflection } from "./reflection/lazy-reflection.js";
import { createTokenGuard } from "./token-guard.js";
import { createTokenService } from "./token/token-service.js";
import { createWatchService } from "./watch/watch-service.js";
import { DEFAULT_WATCH_LIMITS, WatchManager, type WatchLimits } from "./watch/watch-manager.js";

/** Largest gRPC message either side may send: file bytes travel in small chunks; the headroom is for large listings. */
export const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

/** HTTP/2 receive window, per stream and per connection: what a client may send ahead of the agent reading it. */
const RECEIVE_WINDOW_BYTES = 4 * 1024 * 1024;

export interface AgentServerOptions {
  /** The first runner token; TokenService.Rotate replaces it for the gRPC guard and the debug endpoint together. */
  token: string;
  host: string;
  port: number;
  /** Port of the HTTP debug endpoint (0 = any free port); undefined leaves it off. */
  debugPort?: number | undefined;
  workDir: string;
  log: Logger;
  /** Output log caps, spill directory and retention of processes; defaults for what is left out. */
  exec?: Partial<ExecSettings> | undefined;
  /** Overrides of the agent's watch limits (tests lower them). */
  watchLimits?: Partial<WatchLimits>;
}

/** A listening agent: its bound port and a drain that stops new work, ends processes and closes the server. */
export interface AgentServer {
  readonly port: number;
  /** The debug endpoint's port, when it runs. */
  readonly debugPort: number | undefined;
  shutdown(): Promise<void>;
}

/** Builds the agent's gRPC server from its services and starts listening. */
export async function startAgentServer(options: AgentServerOptions): Promise<AgentServer> {
  const { log } = options;
  const processes = new ProcessManager(options.workDir, log, options.exec);
  await processes.init();
  const watches = new WatchManager(options.workDir, log, { ...DEFAULT_WATCH_LIMITS, ...options.watchLimits });
  let serving = true;
  const calls = createCallTracker();
  const token = new AgentToken(options.token);
  const server = new Server({
    interceptors: [createTokenGuard(token, log), createCallContextInterceptor(), calls.interceptor],
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
    "grpc.max_send_message_length": MAX_MESSAGE_BYTES,
  });
  server.addService(
    HealthService,
    createHealthService(() => serving),
  );
  addLazyReflection(server);
  server.addService(ExecServiceService, createExecService(processes, log));
  server.addService(FS_SERVICE_DEFINITION, createFsService(new FileSystem(options.workDir), log));
  server.addService(WatchServiceService, createWatchService(watches, log));
  server.addService(TokenServiceService, createTokenService(token, log));

  const applyReceiveWindow = raiseReceiveWindow(server, RECEIVE_WINDOW_BYTES);
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync(`${options.host}:${options.port}`, ServerCredentials.createInsecure(), (error, bound) => {
      if (error) return reject(error);
      applyReceiveWindow();
      resolve(bound);
    });
  });
  log.info({ host: options.host, port, workDir: options.workDir }, "runner agent listening");
  let debug: DebugServer | undefined;
  if (options.debugPort !== undefined) {
    const sources = {
      calls: calls.stats,
      processes: () => processes.list().map(toProcessRecord),
      watches: () => watches.list().map((watch) => toWatchRecord(watch.summary())),
    };
    debug = await startDebugServer({ host: options.host, port: options.debugPort, token, sources, log });
  }

  return {
    port,
    debugPort: debug?.port,
    async shutdown() {
      serving = false;
      await debug?.close();
      log.info({ processes: processes.size }, "runner agent draining");
      watches.closeAll();
      await processes.shutdown();
      await new Promise<void>((resolve) => {
        const force = setTimeout(() => server.forceShutdown(), 2_000);
        server.tryShutdown(() => {
          clearTimeout(force);
          resolve();
        });
      });
      log.info("runner agent stopped");
    },
  };
}
