import { ControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import { logReference } from "../request-context.js";

export function statusCode(error: unknown): number | undefined {
  return (error as { statusCode?: number } | undefined)?.statusCode;
}

/** The engine's own words: the JSON body's message, else dockerode's message without its "(HTTP code N) reason - " prefix. */
export function dockerMessage(error: unknown): string {
  const json = (error as { json?: { message?: string } | null }).json;
  if (json?.message) return json.message.trim();
  const message = ((error as Error).message ?? String(error)).trim();
  return message.replace(/^\(HTTP code \d+\) [^-]*- /, "").trim();
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
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ECONNREFUSED" || code === "ENOENT" || code === "EACCES") {
      log.warn({ err: error, what }, "the Docker engine is not reachable");
      return new ControlPlaneError(
        "DOCKER_UNAVAILABLE",
        `Cannot ${what}: the Docker engine is not reachable (${code}). Start Docker, or point DEVHATCHERY_DOCKER_HOST at it.`,
        { cause: error },
      );
    }
    log.warn({ err: error, what }, "docker call failed");
    if (statusCode(error) === 404) {
      return new ControlPlaneError("NOT_FOUND", `Cannot ${what}: Docker has no such object, or something it needs is gone. ${logReference()}`, { cause: error });
    }
    const status = statusCode(error);
    return new ControlPlaneError("INTERNAL", `Cannot ${what}: the Docker engine refused it${status ? ` (HTTP ${status})` : ""}. ${logReference()}`, { cause: error });
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
