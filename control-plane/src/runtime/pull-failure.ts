import { ControlPlaneError } from "../errors.js";
import { logReference } from "../request-context.js";

const NOT_FOUND = /manifest unknown|name unknown|not found|repository does not exist/i;
const UNAUTHORIZED = /unauthorized|authentication required|no basic auth credentials|access to the resource is denied/i;
const UNREACHABLE =
  /connection refused|no such host|timeout|timed out|network is unreachable|no route to host|connection reset|\btls\b|x509|certificate|server gave http response|\bEOF\b/i;

/** The registry an image reference names: its first component when that is a host, else Docker Hub. */
export function imageRegistry(image: string): string {
  const slash = image.indexOf("/");
  if (slash < 0) return "docker.io";
  const first = image.slice(0, slash);
  return first.includes(".") || first.includes(":") || first === "localhost" ? first : "docker.io";
}

/**
 * Turns the engine's reason for a failed pull into IMAGE_NOT_FOUND (the registry has no such repository or tag)
 * or IMAGE_PULL_FAILED (credentials refused, registry unreachable, anything else), naming the image, the registry
 * and the fix. The engine's reason (registry URLs, addresses, DNS servers) stays out of the message: the caller logs
 * it with the request id the message names.
 */
export function classifyPullFailure(image: string, reason: string, cause?: unknown): ControlPlaneError {
  const registry = imageRegistry(image);
  const seeLog = logReference();
  // Docker Hub answers a missing repository with "pull access denied ... repository does not exist": not-found wins.
  if (NOT_FOUND.test(reason)) {
    return new ControlPlaneError(
      "IMAGE_NOT_FOUND",
      `Image "${image}" was not found on registry "${registry}". ` +
        `Check the repository name and tag, or build the image on the Docker host (\`npm run images\` builds devhatchery/runner:latest). ${seeLog}`,
      { cause },
    );
  }
  if (UNAUTHORIZED.test(reason)) {
    return new ControlPlaneError(
      "IMAGE_PULL_FAILED",
      `Image "${image}" could not be pulled: registry "${registry}" requires credentials the Docker host does not have. ` +
        `Run \`docker login ${registry}\` on the Docker host, or use a public image. ${seeLog}`,
      { cause },
    );
  }
  if (UNREACHABLE.test(reason)) {
    return new ControlPlaneError(
      "IMAGE_PULL_FAILED",
      `Image "${image}" could not be pulled: registry "${registry}" is unreachable from the Docker host. ` +
        `Use an image that is present locally, or ask the operator to prepull it. ${seeLog}`,
      { cause },
    );
  }
  return new ControlPlaneError(
    "IMAGE_PULL_FAILED",
    `Image "${image}" could not be pulled from registry "${registry}". ` +
      `Check the image name and the registry, or ask the operator to pull it on the Docker host. ${seeLog}`,
    { cause },
  );
}
