import type { Hono } from "hono";
import { createBearerAuthenticator, type Authenticator } from "./auth/bearer-authenticator.js";
import { LOCAL_PRINCIPAL } from "./auth/principal.js";
import type { ControlPlaneConfig } from "./config.js";
import { createApp } from "./http/app.js";
import type { AppEnv } from "./http/auth-middleware.js";
import { McpSessions } from "./http/mcp-sessions.js";
import { DEFAULT_EVENT_STORE_LIMITS } from "./http/session-event-store.js";
import type { Logger } from "./log.js";
import { FIXTURE_SUBSCRIPTIONS } from "./mcp/fixtures/fixture-resources.js";
import { createMcpServer } from "./mcp/mcp-server.js";
import { createExecOutputSubscriptionProvider } from "./mcp/resources/exec-output-resource.js";
import { ExecService } from "./runners/exec-service.js";
import { ExportService } from "./runners/export-service.js";
import { MountPolicy } from "./runners/mount-policy.js";
import { FileService } from "./runners/file-service.js";
import { RunnerService } from "./runners/runner-service.js";
import { WatchService } from "./runners/watch-service.js";
import { DockerRuntime } from "./runtime/docker-runtime.js";
import { VERSION } from "./version.js";

export interface ControlPlane {
  app: Hono<AppEnv>;
  runtime: DockerRuntime;
  /** Closes sessions and agent connections; runners keep running. */
  close(): Promise<void>;
}

/** Wires config → runtime → domain services → MCP → HTTP. Nothing here listens or reads the environment. */
export function createControlPlane(config: ControlPlaneConfig, log: Logger): ControlPlane {
  const runtime = new DockerRuntime(log, config.dockerHost, config.agent);
  const mountPolicy = new MountPolicy(config.allowedRoots);
  const runners = new RunnerService(runtime, { defaultImage: config.defaultImage, network: config.runnerNetwork, readyTimeoutMs: config.readyTimeoutMs, mountPolicy }, log);
  const exports = new ExportService(runners, { root: config.exports.root, maxBytes: config.exports.maxBytes, mountPolicy }, log);
  const execs = new ExecService(runners, log);
  const files = new FileService(runners, log);
  const watches = new WatchService(runners, log);
  const fixtureSubscriptions = config.testFixtures ? [FIXTURE_SUBSCRIPTIONS] : [];
  const sessions = new McpSessions(
    (principal, sessionLog) =>
      createMcpServer(
        { runners, execs, files, exports, watches, subscriptionProviders: [createExecOutputSubscriptionProvider(execs, principal), ...fixtureSubscriptions], principal, log: sessionLog },
        VERSION,
        { testFixtures: config.testFixtures },
      ),
    log,
    { idleTimeoutMs: config.sessionIdleTimeoutMs, eventStore: DEFAULT_EVENT_STORE_LIMITS },
  );
  const authenticate: Authenticator = config.auth.mode === "none" ? () => LOCAL_PRINCIPAL : createBearerAuthenticator(config.auth.tokens);
  const app = createApp({
    sessions,
    debugView: (principal, runner, format) => runners.debugView(principal, runner, format),
    authenticate,
    hostGuard: { listenHost: config.listen.host, allowedHosts: config.allowedHosts, allowedOrigins: config.allowedOrigins },
    version: VERSION,
    log,
  });
  return {
    app,
    runtime,
    async close() {
      await sessions.closeAll();
      runners.close();
    },
  };
}
