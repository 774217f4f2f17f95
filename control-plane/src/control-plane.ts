import { join } from "node:path";
import type { Hono } from "hono";
import { createAuthenticator } from "./auth/create-authenticator.js";
import type { ControlPlaneConfig } from "./config.js";
import { createApp } from "./http/app.js";
import type { AppEnv } from "./http/auth-middleware.js";
import { McpSessions } from "./http/mcp-sessions.js";
import { DEFAULT_EVENT_STORE_LIMITS } from "./http/session-event-store.js";
import type { Principal } from "./auth/principal.js";
import type { Logger } from "./log.js";
import type { SessionDeps } from "./mcp/tool-deps.js";
import { FIXTURE_SUBSCRIPTIONS } from "./mcp/conformance-fixtures/fixture-resources.js";
import { createMcpServer } from "./mcp/mcp-server.js";
import { createPrincipalTaskStore } from "./mcp/tasks/principal-task-store.js";
import { createObservability } from "./observability/observability.js";
import { createReadiness } from "./observability/readiness.js";
import { createReadinessChecks } from "./observability/readiness-checks.js";
import { createExecOutputSubscriptionProvider } from "./mcp/resources/exec-output-resource.js";
import { prepareDefaultImage } from "./runners/spawn/default-image-preparation.js";
import { ExecService } from "./runners/exec/exec-service.js";
import { JobService } from "./jobs/job-service.js";
import { ExportService } from "./runners/exports/export-service.js";
import { AptCache } from "./apt-cache/apt-cache.js";
import { GarbageCollector } from "./runners/lifecycle/garbage-collector.js";
import { QuotaWatch } from "./runners/lifecycle/quota-watch.js";
import { MountPolicy } from "./runners/mounts/mount-policy.js";
import { FileService } from "./runners/files/file-service.js";
import { RunnerService } from "./runners/runner-service.js";
import { WatchService } from "./runners/files/watch-service.js";
import { mapRuntimeRoles, type ContainerRuntime } from "./runtime/container-runtime.js";
import { DockerRuntime } from "./runtime/docker-runtime.js";
import { InstanceScope } from "./runtime/instance-scope.js";
import type { StateStore } from "./store/state-store.js";
import { createSqliteStateStore } from "./store/sqlite-state-store.js";
import { lockStateFolder, type StateFolderLock } from "./store/state-folder-lock.js";
import { VERSION } from "./version.js";

export interface ControlPlane {
  app: Hono<AppEnv>;
  runtime: ContainerRuntime;
  /** The state store (idempotency keys, spawns, activity, MCP tasks); closed by close(). */
  store: StateStore;
  runners: RunnerService;
  /** Deletes what lifecycle.* retention says has expired and what is left over (on its own every gc_interval_s). */
  garbage: GarbageCollector;
  /** What one MCP session of `principal` is built from: the same services and limits every session gets. */
  sessionDeps(principal: Principal, sessionLog: Logger): SessionDeps;
  /**
   * Graceful stop: new MCP requests get 503 with Retry-After, requests in flight (streamed execs included) may finish
   * for up to `graceMs` and are then cut; then agent connections, the store, the audit log and tracing are closed.
   * Runners keep running. Call it before closing the HTTP server, so late requests get the 503 rather than a reset.
   */
  shutdown(graceMs: number): Promise<void>;
  /** shutdown(0): cuts what is in flight at once. */
  close(): Promise<void>;
}

/** Wires config → runtime → domain services → MCP → HTTP. Nothing here listens or reads the environment. */
export function createControlPlane(config: ControlPlaneConfig, log: Logger): ControlPlane {
  // First: a second control plane on this state store would adopt, reconcile and serve the first one's runners.
  const stateLock = lockStateFolder(config.stateDir);
  try {
    return wireControlPlane(config, log, stateLock);
  } catch (error) {
    stateLock.release();
    throw error;
  }
}

function wireControlPlane(config: ControlPlaneConfig, log: Logger, stateLock: StateFolderLock): ControlPlane {
  const store = createSqliteStateStore(join(config.stateDir, "state.db"));
  const engineRuntime = new DockerRuntime(
    log,
    config.dockerHost,
    config.agent,
    new InstanceScope(config.instance.name, config.instance.adoptUnlabelled),
    {
      tokens: store.runnerTokens,
      claims: store.runnerClaims,
      execOutputMb: config.limits.execOutputMb,
    },
  );
  const observability = createObservability(
    config,
    VERSION,
    async () => (await engineRuntime.containers.listAllRunners()).filter((runner) => runner.state === "running").length,
  );
  const { audit, metrics } = observability;
  // Spans keep the names operators know: `runtime startRunner` for runner containers, `runtime <role> <method>` otherwise.
  const runtime = mapRuntimeRoles(engineRuntime, (role, name) =>
    observability.traced(role, name === "containers" ? "runtime" : `runtime ${name}`),
  );
  const mountPolicy = new MountPolicy(config.allowedRoots);
  // Background work of MCP tasks died with the previous process; their clients must not poll "working" for a day.
  const failedTasks = store.failUnfinishedTasks(
    "The control plane restarted while this task was running; a runner_spawn's runner may exist (runner_list, runner_attach reaches it); a job_run's job ended cancelled (job_list).",
    new Date().toISOString(),
  );
  if (failedTasks > 0) log.warn({ failedTasks }, "marked tasks left working by the previous process as failed");
  const aptCache = config.aptCache.enabled
    ? new AptCache(
        {
          port: config.aptCache.port,
          maxMb: config.aptCache.maxMb,
          indexTtlS: config.aptCache.indexTtlS,
          stateDir: config.stateDir,
        },
        runtime.networks,
        metrics,
        log.child({ component: "apt-cache" }),
      )
    : undefined;
  const runners = new RunnerService(
    runtime,
    store,
    {
      defaultImage: config.defaultImage,
      network: config.runnerNetwork,
      readyTimeoutMs: config.readyTimeoutMs,
      mountPolicy,
      limits: config.limits,
      profile: config.profile,
      allowedImages: config.allowedImages,
      meter: metrics,
      quotas: config.quotas,
      exportRoot: config.exports.root,
      pools: config.pools,
      fault: config.testFault,
      aptCache,
      // Idle checks run when the server or any policy gives runners an idle limit.
      idle:
        config.lifecycle.idleStopAfterS > 0 || config.policies.some((policy) => (policy.idleStopAfterS ?? 0) > 0)
          ? {
              idleStopAfterS: config.lifecycle.idleStopAfterS,
              action: config.lifecycle.idleAction,
              checkIntervalS: config.lifecycle.idleCheckIntervalS,
            }
          : undefined,
      images: {
        pull: config.imagePull,
        registries: config.imageRegistries,
        allowIdReferences: config.allowIdReferences,
      },
    },
    log,
    audit,
  );
  // Readiness does not wait for either: reconciling needs Docker, which may come up after the control plane.
  // Pools start after reconciling: a claim a crash interrupted is finished before anything is refilled.
  runners
    .reconcile()
    .catch((error: unknown) =>
      log.warn({ err: error }, "reconciling runners with Docker failed; it runs again at the next start"),
    )
    .then(() => runners.startPools())
    .catch((error: unknown) =>
      log.warn({ err: error }, "starting the warm pools failed; spawns start cold until the next start"),
    )
    // Jobs the previous process left running end cancelled once runners are known (their runners are removed).
    .then(() => jobs.recover())
    .catch((error: unknown) => log.warn({ err: error }, "recovering jobs failed; it runs again at the next start"));
  runners.startBackgroundWork(config.prepullImages, config.imagePull);
  // Readiness only observes; this start-up work prepares what it reports on (the default image and its agent).
  const defaultImage = prepareDefaultImage(runtime, config.defaultImage, log, config.imagePull);
  const garbage = new GarbageCollector(
    runtime,
    store,
    {
      lifecycle: config.lifecycle,
      exportRoot: config.exports.root,
      keepImages: [config.defaultImage, ...config.prepullImages],
    },
    {
      removeRunner: (item) => runners.expireRunner(item.id),
      removeWorkspace: (item) => runners.expireWorkspace(item.principal ?? "", item.id),
      notify: (principal, runnerId, text) => runners.notify(principal, runnerId, text),
    },
    log,
    audit,
    metrics,
  );
  const stopGarbage = garbage.start();
  const stopQuotaWatch = new QuotaWatch({
    runtime,
    exportRoot: config.exports.root,
    serverQuotas: config.quotas,
    principals: () => runners.servedPrincipals(),
    notify: (principal, text) => runners.notify(principal, undefined, text),
    meter: metrics,
    log,
  }).start(config.lifecycle.gcIntervalS);
  const exports = new ExportService(
    runners,
    { root: config.exports.root, maxBytes: config.exports.maxBytes, mountPolicy },
    log,
    audit,
    metrics,
  );
  const execs = new ExecService(runners, log, audit, metrics);
  const files = new FileService(runners, log, audit, metrics);
  const jobs = new JobService(
    { runners, execs, exports, log: log.child({ component: "jobs" }) },
    store.jobs,
    config.jobs,
    config.stateDir,
    audit,
    metrics,
  );
  jobs.start();
  const watches = new WatchService(runners, log);
  const fixtureSubscriptions = config.testFixtures ? [FIXTURE_SUBSCRIPTIONS] : [];
  const sessionDeps = (principal: Principal, sessionLog: Logger): SessionDeps => ({
    runners,
    execs,
    files,
    exports,
    jobs,
    watches,
    subscriptionProviders: [createExecOutputSubscriptionProvider(execs, principal), ...fixtureSubscriptions],
    principal,
    log: sessionLog,
    audit,
    taskStore: createPrincipalTaskStore(store, principal),
    sessionLimits: {
      maxSubscriptions: config.sessionLimits.maxSubscriptions,
      maxWatches: config.sessionLimits.maxWatches,
    },
    engineReachable: () =>
      runtime.engine.ping().then(
        () => true,
        () => false,
      ),
  });
  const sessions = new McpSessions(
    (principal, sessionLog) =>
      createMcpServer(sessionDeps(principal, sessionLog), VERSION, { testFixtures: config.testFixtures }),
    log,
    {
      idleTimeoutMs: config.sessionIdleTimeoutMs,
      eventStore: DEFAULT_EVENT_STORE_LIMITS,
      maxBodyBytes: config.sessionLimits.maxBodyBytes,
      maxSessionsPerPrincipal: config.sessionLimits.maxPerPrincipal,
    },
  );
  const door = createAuthenticator(config);
  // Warm-up only: a provider that is down now is asked again on the first token (and readiness reports it).
  door
    .discover()
    .catch((error: unknown) =>
      log.warn(
        { err: error },
        "the OpenID Provider's metadata could not be fetched; tokens are refused with 503 until it answers",
      ),
    );
  const app = createApp({
    sessions,
    debugView: (principal, runner) => runners.debugView(principal, runner),
    authenticate: door.authenticate,
    protectedResource: door.protectedResource,
    hostGuard: {
      listenHost: config.listen.host,
      allowedHosts: config.allowedHosts,
      allowedOrigins: config.allowedOrigins,
    },
    version: VERSION,
    log,
    audit,
    metrics,
    readiness: createReadiness(
      createReadinessChecks({
        runtime,
        defaultImage: config.defaultImage,
        dockerHost: config.dockerHost,
        store,
        agent: defaultImage,
        identityProvider: config.auth.oidc && { issuer: config.auth.oidc.issuer, discover: door.discover },
      }),
      { log },
    ),
  });
  let stopped: Promise<void> | undefined;
  const shutdown = (graceMs: number): Promise<void> =>
    (stopped ??= (async () => {
      log.info({ graceMs }, "draining: new MCP requests get 503; requests in flight may finish; runners keep running");
      const cut = await sessions.shutdown(graceMs);
      if (cut > 0) log.warn({ cut, graceMs }, "cut MCP requests still in flight after the grace period");
      defaultImage.stop();
      stopGarbage();
      stopQuotaWatch();
      jobs.close();
      runners.close();
      await aptCache?.close();
      store.close();
      stateLock.release();
      await observability.close();
    })());
  return {
    app,
    runtime,
    store,
    runners,
    garbage,
    sessionDeps,
    shutdown,
    close: () => shutdown(0),
  };
}
