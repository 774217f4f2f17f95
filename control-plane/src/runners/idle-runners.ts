import type { AuditLog } from "../audit.js";
import type { PrincipalPolicy } from "../auth/principal-policy.js";
import type { Logger } from "../log.js";
import type { ContainerRuntime } from "../runtime/container-runtime.js";
import type { RunnerContainer, RunnerProcess } from "../runtime/runner-containers.js";
import { isUnclaimedPooled } from "../runtime/runner-ownership.js";
import type { StateStore } from "../store/state-store.js";

/** lifecycle.*: after how long an idle runner is acted on (0: never), what is done, and how often runners are checked. */
export interface IdleSettings {
  idleStopAfterS: number;
  action: "stop" | "pause";
  checkIntervalS: number;
}

/** Why a runner counts as in use; a runner with none of these for its idle limit is idle. */
export type ActivityReason = "recent_call" | "processes" | "watches" | "streams";

/** What the last check saw of a running runner. */
export interface RunnerActivityCheck {
  reasons: ActivityReason[];
  /** ISO 8601. */
  checkedAt: string;
}

/** What the agent says it is doing (its debug view, untrusted: it can only keep its own runner alive). */
export interface AgentWork {
  watches: number;
  openStreams: number;
}

/** What the check needs from the rest of the domain: the agent's view, and the action itself. */
export interface IdleRunnerHooks {
  agentWork(container: RunnerContainer): Promise<AgentWork | undefined>;
  /**
   * Stops or pauses the runner unless `stillIdle()` (asked under the runner's lock, right before acting) says a call
   * or a process came meanwhile; resolves whether it acted.
   */
  act(
    container: RunnerContainer,
    action: "stop" | "pause",
    idleForS: number,
    stillIdle: () => Promise<boolean>,
  ): Promise<boolean>;
}

/**
 * The processes that are work: everything but the container's init (docker-init, the engine's pid 1) and the agent it
 * runs. Exec processes (children of the agent) and background or nohup processes (reparented to init) are work.
 */
export function workProcesses(container: Pick<RunnerContainer, "pid">, processes: RunnerProcess[]): RunnerProcess[] {
  const init = container.pid;
  return processes.filter(
    (process) =>
      process.pid !== init &&
      !(process.ppid === init && /(^|\/)agent\.cjs(\s|$)/.test(process.command.split(" ")[1] ?? "")),
  );
}

/**
 * Finds runners nobody uses and stops or pauses them. A runner is in use while a call named it within its idle limit,
 * a process other than its agent runs in it (a running exec, a background or nohup process), or its agent holds a
 * watch or an open stream (a follower of exec output, a resource subscription). Calls are noted in memory on every
 * use (the store keeps them throttled); after a restart a runner gets its full limit again from the start, so no
 * runner is stopped early and none is forgotten.
 */
export class IdleRunners {
  private readonly lastUse = new Map<string, number>();
  private readonly policies = new Map<string, PrincipalPolicy | undefined>();
  private readonly checks = new Map<string, RunnerActivityCheck>();
  private readonly since: number;
  private sweeping: Promise<void> | undefined;

  constructor(
    private readonly runtime: Pick<ContainerRuntime, "containers">,
    private readonly store: Pick<StateStore, "allRunnerActivity">,
    private readonly settings: IdleSettings,
    private readonly hooks: IdleRunnerHooks,
    private readonly log: Logger,
    private readonly audit: AuditLog,
    private readonly now: () => number = Date.now,
  ) {
    this.since = now();
  }

  /** A call used the runner; the caller's policy (its idle limit) is remembered for the runner's owner. */
  noteUse(principal: { id: string; policy?: PrincipalPolicy | undefined }, runnerId: string): void {
    this.lastUse.set(runnerId, this.now());
    this.policies.set(principal.id, principal.policy);
  }

  /** What the last check saw of a runner (undefined before its first check). */
  activityOf(runnerId: string): RunnerActivityCheck | undefined {
    return this.checks.get(runnerId);
  }

  forget(runnerId: string): void {
    this.lastUse.delete(runnerId);
    this.checks.delete(runnerId);
  }

  /** The idle limit of a principal's runners in ms; 0 never. */
  private limitMs(principal: string): number {
    return (this.policies.get(principal)?.idleStopAfterS ?? this.settings.idleStopAfterS) * 1000;
  }

  /** Checks every running runner once (one check at a time); resolves when every idle one was acted on. */
  private sweep(): Promise<void> {
    this.sweeping ??= this.sweepOnce().finally(() => (this.sweeping = undefined));
    return this.sweeping;
  }

  /** Checks every lifecycle.idle_check_interval_s; returns the stop. Off when no principal can have an idle limit. */
  start(): () => void {
    const timer = setInterval(() => {
      this.sweep().catch((error: unknown) => this.log.warn({ err: error }, "the idle check failed; it runs again"));
    }, this.settings.checkIntervalS * 1000);
    timer.unref();
    return () => clearInterval(timer);
  }

  private async sweepOnce(): Promise<void> {
    // An unclaimed pooled runner is idle by design: its pool keeps it ready.
    const running = (await this.runtime.containers.listAllRunners()).filter(
      (runner) => runner.state === "running" && !isUnclaimedPooled(runner),
    );
    const stored = this.store.allRunnerActivity();
    const live = new Set(running.map((runner) => runner.runnerId));
    // Only running runners are tracked: a stopped one gets its full limit from its next start (container.startedAt).
    for (const runnerId of this.checks.keys()) if (!live.has(runnerId)) this.checks.delete(runnerId);
    for (const runnerId of this.lastUse.keys()) if (!live.has(runnerId)) this.lastUse.delete(runnerId);
    for (const container of running) {
      try {
        await this.check(container, stored.get(container.runnerId));
      } catch (error) {
        this.log.warn({ err: error, runner: container.runnerId }, "could not check whether a runner is idle");
      }
    }
  }

  private async check(container: RunnerContainer, storedAt: string | undefined): Promise<void> {
    const now = this.now();
    const limit = this.limitMs(container.principal);
    const lastUse = Math.max(
      this.lastUse.get(container.runnerId) ?? 0,
      storedAt ? Date.parse(storedAt) : 0,
      container.startedAt ? Date.parse(container.startedAt) : 0,
      this.since,
    );
    const reasons: ActivityReason[] = [];
    // Without a limit nothing is acted on; "recent" then means the last minute, for runner_list.
    if (now - lastUse < (limit || 60_000)) reasons.push("recent_call");
    if (workProcesses(container, await this.runtime.containers.runnerProcesses(container.runnerId)).length > 0)
      reasons.push("processes");
    const agent = reasons.includes("processes") ? undefined : await this.hooks.agentWork(container);
    if (agent && agent.watches > 0) reasons.push("watches");
    if (agent && agent.openStreams > 0) reasons.push("streams");
    this.checks.set(container.runnerId, { reasons, checkedAt: new Date(now).toISOString() });
    if (limit === 0 || reasons.length > 0) return;
    const idleForS = Math.round((now - lastUse) / 1000);
    this.log.info(
      { runner: container.runnerId, principal: container.principal, idleForS, action: this.settings.action },
      "runner is idle",
    );
    const stillIdle = async (): Promise<boolean> =>
      (this.lastUse.get(container.runnerId) ?? 0) <= lastUse &&
      workProcesses(container, await this.runtime.containers.runnerProcesses(container.runnerId)).length === 0;
    if (!(await this.hooks.act(container, this.settings.action, idleForS, stillIdle))) {
      this.log.info({ runner: container.runnerId }, "runner was used while it was about to be stopped; kept");
      return;
    }
    this.checks.delete(container.runnerId);
    this.audit.record({
      action: this.settings.action === "stop" ? "runner.stop" : "runner.pause",
      principal: container.principal,
      outcome: "ok",
      runner: container.runnerId,
      reason: "idle",
      idle_for_s: idleForS,
    });
  }
}
