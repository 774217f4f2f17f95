import type Docker from "dockerode";
import type { Logger } from "../log.js";
import type { RunnerEvent } from "./runner-events.js";
import type { InstanceScope } from "./instance-scope.js";
import { KIND, LABEL } from "./labels.js";

const ACTIONS: ReadonlyArray<RunnerEvent["action"]> = ["start", "die", "oom", "destroy"];

export interface EventBackoff {
  initialMs: number;
  maxMs: number;
}

const DEFAULT_BACKOFF: EventBackoff = { initialMs: 250, maxMs: 15_000 };

interface EngineEvent {
  Type?: string;
  Action?: string;
  timeNano?: number;
  Actor?: { ID?: string; Attributes?: Record<string, string> };
}

/**
 * Follows the engine's events for runner containers until the returned function is called. When the stream ends
 * or fails it reconnects after a growing (bounded) delay and asks for the events it missed meanwhile (`since`);
 * events already delivered are not delivered twice. Never throws into the caller; a throwing listener is logged.
 */
export function watchDockerRunnerEvents(
  docker: Docker,
  log: Logger,
  listener: (event: RunnerEvent) => void,
  backoff = DEFAULT_BACKOFF,
  scope?: InstanceScope,
): () => void {
  let closed = false;
  let stream: NodeJS.ReadableStream | undefined;
  let timer: NodeJS.Timeout | undefined;
  let delayMs = backoff.initialMs;
  let lastTimeNano = 0;

  const deliver = (line: string): void => {
    let event: EngineEvent;
    try {
      event = JSON.parse(line) as EngineEvent;
    } catch {
      log.warn({ line: line.slice(0, 200) }, "ignoring an unreadable engine event");
      return;
    }
    if (event.timeNano !== undefined) {
      if (event.timeNano <= lastTimeNano) return;
      lastTimeNano = event.timeNano;
    }
    const runnerEvent = toRunnerEvent(event);
    if (!runnerEvent || (scope && !scope.owns(event.Actor?.Attributes))) return;
    try {
      listener(runnerEvent);
    } catch (error) {
      log.error({ err: error, event: runnerEvent }, "a runner event listener failed");
    }
  };

  const reconnect = (reason: unknown): void => {
    stream = undefined;
    if (closed) return;
    log.warn({ err: reason, retryInMs: delayMs }, "the engine's event stream ended; reconnecting");
    timer = setTimeout(() => void connect(), delayMs);
    delayMs = Math.min(delayMs * 2, backoff.maxMs);
  };

  const connect = async (): Promise<void> => {
    timer = undefined;
    let opened: NodeJS.ReadableStream;
    try {
      opened = await docker.getEvents({
        ...(lastTimeNano > 0 ? { since: lastTimeNano / 1e9 } : {}),
        filters: {
          type: ["container"],
          event: [...ACTIONS],
          label: [`${LABEL.kind}=${KIND.runner}`, `${LABEL.managed}=true`, ...(scope?.labelFilter() ?? [])],
        },
      });
    } catch (error) {
      reconnect(error);
      return;
    }
    if (closed) {
      destroy(opened);
      return;
    }
    stream = opened;
    delayMs = backoff.initialMs;
    let buffered = "";
    let ended = false;
    const end = (reason: unknown): void => {
      if (ended) return;
      ended = true;
      reconnect(reason);
    };
    opened.on("data", (chunk: Buffer | string) => {
      buffered += chunk.toString();
      let newline: number;
      while ((newline = buffered.indexOf("\n")) >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) deliver(line);
      }
    });
    opened.on("error", (error: unknown) => end(error));
    opened.on("end", () => end(new Error("stream ended")));
    opened.on("close", () => end(new Error("stream closed")));
  };

  void connect();
  return () => {
    closed = true;
    if (timer) clearTimeout(timer);
    if (stream) destroy(stream);
  };
}

function toRunnerEvent(event: EngineEvent): RunnerEvent | undefined {
  const attributes = event.Actor?.Attributes ?? {};
  const action = ACTIONS.find((candidate) => candidate === event.Action);
  const runnerId = attributes[LABEL.runner];
  if (event.Type !== "container" || !action || !runnerId || attributes[LABEL.kind] !== KIND.runner) return undefined;
  const exitCode = action === "die" && attributes.exitCode !== undefined ? Number(attributes.exitCode) : undefined;
  return { runnerId, principal: attributes[LABEL.owner] ?? "", action, exitCode };
}

function destroy(stream: NodeJS.ReadableStream): void {
  (stream as NodeJS.ReadableStream & { destroy?: () => void }).destroy?.();
}
