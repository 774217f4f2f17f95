/** The resource template of a runner. */
export const RUNNER_URI_TEMPLATE = "devhatchery://runners/{runner}";
/** The resource template of a file or directory in a runner: `path` is the absolute path without its leading "/". */
export const FILE_URI_TEMPLATE = "devhatchery://runners/{runner}/files/{+path}";

const RUNNER_URI = /^devhatchery:\/\/runners\/([^/?#]+)\/?$/;
const FILE_URI = /^devhatchery:\/\/runners\/([^/?#]+)\/files(?:\/([^?#]*))?$/;

export function runnerUri(runnerId: string): string {
  return `devhatchery://runners/${encodeURIComponent(runnerId)}`;
}

/** The URI of an absolute path in a runner, each path segment percent-encoded. */
export function fileUri(runnerId: string, absolutePath: string): string {
  const segments = absolutePath.split("/").filter((segment) => segment !== "");
  return `${runnerUri(runnerId)}/files/${segments.map(encodeURIComponent).join("/")}`;
}

export function parseRunnerUri(uri: string): { runnerId: string } | undefined {
  const match = RUNNER_URI.exec(uri);
  const runnerId = match?.[1] === undefined ? undefined : decodeSegment(match[1]);
  return runnerId === undefined ? undefined : { runnerId };
}

/** The runner and absolute path a file URI names; undefined for anything else (or a malformed escape). */
export function parseFileUri(uri: string): { runnerId: string; path: string } | undefined {
  const match = FILE_URI.exec(uri);
  if (!match?.[1]) return undefined;
  const runnerId = decodeSegment(match[1]);
  const segments = (match[2] ?? "")
    .split("/")
    .filter((segment) => segment !== "")
    .map(decodeSegment);
  if (runnerId === undefined || segments.some((segment) => segment === undefined)) return undefined;
  return { runnerId, path: `/${segments.join("/")}` };
}

function decodeSegment(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}
