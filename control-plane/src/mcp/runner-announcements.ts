import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { LoggingLevel } from "@modelcontextprotocol/sdk/types.js";
import { asControlPlaneError } from "../errors.js";
import type { RunnerInfo } from "../runners/runner.js";
import type { ClientLog } from "./client-log.js";
import type { SessionDeps } from "./tool-deps.js";

type Announced = RunnerInfo["status"] | "removed";

/** Removed runners a session remembers, so a late event (the container's destroy) does not announce a removal twice. */
export const REMEMBERED_REMOVALS = 256;

/** What a session holds to announce runner changes (for tests and debugging). */
export interface RunnerAnnouncements {
  /** Runners whose last announced status is kept: the principal's runners that were not removed. */
  readonly runners: number;
  /** Removed runners remembered, at most REMEMBERED_REMOVALS. */
  readonly removals: number;
}

/**
 * Tells the session's client, with a log message, when one of its principal's runners became ready (`info`), failed
 * to start (`error`, with the reason), stopped (`notice`, or `warning` with the reason when its agent died) or was
 * removed (`notice`), by this session or another one: how a runner_spawn with wait false reports readiness. Each
 * status is told once per runner; a removed runner is forgotten (but for the last few ids), so a long session holds
 * nothing per runner it saw come and go. Stops when the session closes. Call before connecting.
 */
export function announceRunnerChanges(
  server: McpServer,
  deps: Pick<SessionDeps, "runners" | "principal" | "log">,
  clientLog: ClientLog,
): RunnerAnnouncements {
  const told = new Map<string, Announced>();
  const removed = new Set<string>();
  // One lookup after another, so the client hears of changes in the order they happened.
  let queue = Promise.resolve();
  const lookup = (runnerId: string): Promise<RunnerInfo | undefined> =>
    deps.runners.get(deps.principal, runnerId).catch((error: unknown) => {
      if (asControlPlaneError(error).code === "NOT_FOUND") return undefined;
      throw error;
    });
  const remember = (runnerId: string, status: Announced): void => {
    if (status === "removed") {
      told.delete(runnerId);
      removed.add(runnerId);
      if (removed.size > REMEMBERED_REMOVALS) removed.delete(removed.values().next().value!);
    } else {
      removed.delete(runnerId);
      told.set(runnerId, status);
    }
  };
  const announce = async (runnerId: string): Promise<void> => {
    const runner = await lookup(runnerId);
    const status: Announced = runner?.status ?? "removed";
    const already = status === "removed" ? removed.has(runnerId) : told.get(runnerId) === status;
    if (already || status === "starting" || status === "unknown") return;
    remember(runnerId, status);
    const message = announcement(runnerId, runner);
    clientLog(message.level, message.text, {
      runner_id: runnerId,
      status,
      ...(runner ? { image: runner.image } : {}),
      ...(runner?.error ? { error: runner.error } : {}),
    });
  };
  const stop = deps.runners.onRunnerChange((principalId, runnerId) => {
    if (principalId !== deps.principal.id) return;
    queue = queue
      .then(() => announce(runnerId))
      .catch((error: unknown) =>
        deps.log.debug({ err: error, runner: runnerId }, "could not look up a changed runner to announce it"),
      );
  });
  const stopNotices = deps.runners.onRunnerNotice((principalId, runnerId, text) => {
    if (principalId !== deps.principal.id) return;
    queue = queue.then(() => clientLog("notice", text, runnerId ? { runner_id: runnerId } : {}));
  });
  const previousOnClose = server.server.onclose;
  server.server.onclose = () => {
    previousOnClose?.();
    stop();
    stopNotices();
  };
  return {
    get runners() {
      return told.size;
    },
    get removals() {
      return removed.size;
    },
  };
}

function announcement(runnerId: string, runner: RunnerInfo | undefined): { level: LoggingLevel; text: string } {
  if (!runner) return { level: "notice", text: `Runner ${runnerId} was removed.` };
  const name = runner.alias ? `${runnerId} (${runner.alias})` : runnerId;
  switch (runner.status) {
    case "ready":
      return { level: "info", text: `Runner ${name} is ready (image ${runner.image}).` };
    case "failed":
      return { level: "error", text: `Runner ${name} failed to start: ${runner.error ?? "unknown error"}` };
    case "paused":
      return {
        level: "notice",
        text: `Runner ${name} is paused${runner.idle ? " (idle)" : ""}; the next call naming it, or runner_resume, thaws it.`,
      };
    default:
      if (runner.idle)
        return { level: "notice", text: `Runner ${name} is stopped (idle); the next call naming it starts it again.` };
      return runner.error
        ? { level: "warning", text: `Runner ${name} stopped: ${runner.error}. runner_attach starts it again.` }
        : { level: "notice", text: `Runner ${name} is stopped; runner_attach starts it again.` };
  }
}
