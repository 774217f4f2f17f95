import type { TaskStore } from "@modelcontextprotocol/sdk/experimental/tasks";
import type { AuditLog } from "../audit.js";
import type { Logger } from "../log.js";
import type { JobService } from "../jobs/job-service.js";
import type { ExecService } from "../runners/exec/exec-service.js";
import type { ExportService } from "../runners/exports/export-service.js";
import type { FileService } from "../runners/files/file-service.js";
import type { Principal } from "../runners/runner.js";
import type { RunnerService } from "../runners/runner-service.js";
import type { WatchService } from "../runners/files/watch-service.js";
import type { SubscriptionProvider } from "./resources/subscription-provider.js";
import type { SessionRoots } from "./roots/session-roots.js";
import type { SessionWatches } from "./session-watches.js";

/** What every tool gets: the domain services, the session's principal and a logger. */
export interface ToolDeps {
  runners: RunnerService;
  execs: ExecService;
  files: FileService;
  exports: ExportService;
  /** One-shot agent jobs (job_run and friends). */
  jobs: JobService;
  principal: Principal;
  log: Logger;
  watches: WatchService;
  /** Resource subscriptions beyond runners and files (those are built in), e.g. exec output; one set per session. */
  subscriptionProviders: SubscriptionProvider[];
  /** The client's roots: resolve relative paths with `roots.resolvePath(runner, path, extra)`. */
  roots: SessionRoots;
  /** The principal's MCP task records (runner_spawn as a task); they survive restarts and no other principal sees them. */
  taskStore: TaskStore;
  /** Per-session bounds: resource subscriptions and fs_watch watches one session may hold (sessions.* config). */
  sessionLimits: { maxSubscriptions: number; maxWatches: number };
  /** The watches this session started with fs_watch, within sessions.max_watches. */
  sessionWatches: SessionWatches;
  /** Where policy denials of tool calls are recorded (the control plane's audit log); none in tests that omit it. */
  audit?: AuditLog;
  /** Whether the container engine answers (system_status reports it as docker_reachable, the field clients know). */
  engineReachable: () => Promise<boolean>;
  /** The control plane's version. */
  version: string;
}

/** What the composition root hands createMcpServer per session; the server adds what only it can make (roots). */
export type SessionDeps = Omit<ToolDeps, "roots" | "version" | "sessionWatches">;
