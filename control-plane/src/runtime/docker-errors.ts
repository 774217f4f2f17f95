import { ControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import { logReference } from "../request-context.js";

/**
 * What a failed engine call means to its caller: code branches on these kinds, never on HTTP statuses or errnos.
 * unreachable: the engine's endpoint did not answer; interrupted: no HTTP answer for another reason (a broken stream);
 * unchanged: the object is already in the state asked for; invalid: the engine could not parse the request;
 * missing: no such object; conflict: it exists already, is in use, or is being removed; refused: any other answer.
 */
export type EngineFailure =
  "unreachable" | "interrupted" | "unchanged" | "invalid" | "missing" | "conflict" | "refused";

/** Connection errnos that mean the engine's socket or port cannot be reached (EACCES: not allowed to use the socket). */
const UNREACHABLE_ERRNOS: ReadonlySet<string> = new Set(["ECONNREFUSED", "ENOENT", "EACCES"]);

/** The Engine API's HTTP statuses with a meaning of their own; every other status is "refused". */
const FAILURE_BY_STATUS: Readonly<Record<number, EngineFailure>> = {
  304: "unchanged",
  400: "invalid",
  404: "missing",
  409: "conflict",
};

function statusCode(error: unknown): number | undefined {
  return (error as { statusCode?: number } | undefined)?.statusCode;
}

/** The one Docker error → failure kind table (dockerode puts the HTTP status in `statusCode`, socket errors in `code`). */
export function classifyDockerFailure(error: unknown): EngineFailure {
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  if (typeof errno === "string" && UNREACHABLE_ERRNOS.has(errno)) return "unreachable";
  const status = statusCode(error);
  if (status === undefined) return "interrupted";
  return FAILURE_BY_STATUS[status] ?? "refused";
}

/** Whether a dockerode failure is one of `kinds`, e.g. `isDockerFailure(error, "missing")` for a 404. */
export function isDockerFailure(error: unknown, ...kinds: EngineFailure[]): boolean {
  return kinds.includes(classifyDockerFailure(error));
}

/** The engine's own words: the JSON body's message, else dockerode's message without its "(HTTP code N) reason - " prefix. */
export function dockerMessage(error: unknown): string {
  const json = (error as { json?: { message?: string } | null }).json;
  if (json?.message) return json.message.trim();
  const message = ((error as Error).message ?? String(error)).trim();
  return message.replace(/^\(HTTP code \d+\) [^-]*- /, "").trim();
}

/**
 * Failure kind → control-plane error, for failures the caller does not handle itself. `what` is the attempted
 * action ("create a runner from \"img\""); the engine's words stay in the log, named by the request id.
 */
const DOMAIN_ERROR_BY_FAILURE: Readonly<Record<EngineFailure, (what: string, error: unknown) => ControlPlaneError>> = {
  unreachable: (what, error) =>
    new ControlPlaneError(
      "DOCKER_UNAVAILABLE",
      `Cannot ${what}: the Docker engine is not reachable (${(error as NodeJS.ErrnoException).code}). Start Docker, or point DEVHATCHERY_DOCKER_HOST at it.`,
      { cause: error },
    ),
  missing: (what, error) =>
    new ControlPlaneError(
      "NOT_FOUND",
      `Cannot ${what}: Docker has no such object, or something it needs is gone. ${logReference()}`,
      { cause: error },
    ),
  interrupted: refused,
  unchanged: refused,
  invalid: refused,
  conflict: refused,
  refused,
};

function refused(what: string, error: unknown): ControlPlaneError {
  const status = statusCode(error);
  return new ControlPlaneError(
    "INTERNAL",
    `Cannot ${what}: the Docker engine refused it${status ? ` (HTTP ${status})` : ""}. ${logReference()}`,
    { cause: error },
  );
}

/**
 * Turns dockerode failures into ControlPlaneErrors that say what we tried and what to do about it. The engine's own
 * words (object names, addresses, ports, DNS servers) are logged with the request id, never put in the message.
 */
export interface DockerErrors {
  wrap(error: unknown, what: string): ControlPlaneError;
  call<T>(what: string, work: () => Promise<T>): Promise<T>;
  /** Logs the engine's words for a failure whose message leaves them out (with the request id it names). */
  logEngineText(what: string, text: string): void;
}

export function createDockerErrors(log: Logger): DockerErrors {
  const wrap = (error: unknown, what: string): ControlPlaneError => {
    if (error instanceof ControlPlaneError) return error;
    const kind = classifyDockerFailure(error);
    if (kind === "unreachable") log.warn({ err: error, what }, "the Docker engine is not reachable");
    else log.warn({ err: error, what }, "docker call failed");
    return DOMAIN_ERROR_BY_FAILURE[kind](what, error);
  };
  return {
    wrap,
    logEngineText: (what, text) => log.warn({ what, engineText: text }, "docker call failed"),
    async call(what, work) {
      try {
        return await work();
      } catch (error) {
        throw wrap(error, what);
      }
    },
  };
}
