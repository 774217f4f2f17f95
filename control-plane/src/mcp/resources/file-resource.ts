import { ResourceTemplate, type McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { UriTemplate } from "@modelcontextprotocol/sdk/shared/uriTemplate.js";
import type { ListResourcesResult, ReadResourceResult, Resource } from "@modelcontextprotocol/sdk/types.js";
import { ControlPlaneError } from "../../errors.js";
import { READ_CAP_BYTES, type FileInfo } from "../../runners/files/file-service.js";
import { detectMimeType, isTextMimeType } from "../../runners/files/mime-type.js";
import type { ToolExtra } from "../progress.js";
import type { ToolDeps } from "../tool-deps.js";
import { completeFilePath } from "./file-path-completion.js";
import { toResourceError } from "./resource-error.js";
import { FILE_URI_TEMPLATE, fileUri, parseFileUri } from "./resource-uris.js";
import { completeRunnerId } from "./runner-resource.js";

/** The most files resources/list returns in all, over every runner and root. */
export const RESOURCE_LIST_CAP = 500;
/** How deep resources/list looks below each root folder. */
const LIST_DEPTH = 4;
/** The largest file a resource read returns; fs_read reads larger files in ranges. */
export const RESOURCE_READ_CAP_BYTES = READ_CAP_BYTES;
/** The most entries reading a directory returns (its own entries, sorted by name); fs_list pages through more. */
export const DIRECTORY_READ_CAP = 1000;

const URI_TEMPLATE = new UriTemplate(FILE_URI_TEMPLATE);

const METADATA = {
  title: "Runner file",
  description:
    "A file or directory in one of your runners; {path} is the absolute path without its leading slash, e.g. " +
    "devhatchery://runners/r-0123456789ab/files/work/src/main.py for /work/src/main.py. Reading returns text for text files and a " +
    `base64 blob otherwise, up to ${RESOURCE_READ_CAP_BYTES} bytes (read larger files in ranges with fs_read); reading a directory ` +
    `returns application/json {path, entries: [{name, type, size, uri}], truncated} with at most ${DIRECTORY_READ_CAP} entries (fs_list for more). ` +
    `The list shows at most ${RESOURCE_LIST_CAP} files, ${LIST_DEPTH} levels deep, under your roots (else under /work). ` +
    "Subscribe to a file or a directory to get notifications/resources/updated when it (or anything below it) changes.",
};

/**
 * `devhatchery://runners/{runner}/files/{+path}`: files of the caller's runners, text or blob by media type,
 * listed (bounded) within the client's roots, subscribable (see file-subscription-provider.ts).
 */
export function registerFileResource(server: McpServer, deps: ToolDeps): void {
  const template = new ResourceTemplate(URI_TEMPLATE, {
    list: (extra) => listFiles(deps, extra),
    complete: {
      runner: (value) => completeRunnerId(deps, value),
      path: (value, context) => completeFilePath(deps, context?.arguments?.runner, value),
    },
  });
  server.registerResource("runner-file", template, METADATA, async (uri) => {
    try {
      return await readFile(deps, uri.href);
    } catch (error) {
      throw toResourceError(error);
    }
  });
}

async function readFile(deps: ToolDeps, uri: string): Promise<ReadResourceResult> {
  const target = parseFileUri(uri);
  if (!target)
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      `"${uri}" is not a file URI; use devhatchery://runners/{runner}/files/{path}.`,
    );
  const read = await deps.files
    .read(deps.principal, target.runnerId, target.path, {
      encoding: "base64",
      offset: 0,
      length: RESOURCE_READ_CAP_BYTES,
    })
    .catch(async (error: unknown) => {
      // Only a failed read pays for the stat that tells a directory (read as a listing) from any other refusal.
      if (!(error instanceof ControlPlaneError) || error.code !== "FAILED_PRECONDITION") throw error;
      const { info } = await deps.files
        .stat(deps.principal, target.runnerId, target.path)
        .catch(() => Promise.reject(error));
      if (info.type !== "directory") throw error;
      return readDirectory(deps, uri, target.runnerId, info.path);
    });
  if ("contents" in read) return read;
  if (read.info.size > read.length) {
    throw new ControlPlaneError(
      "RESOURCE_EXHAUSTED",
      `File "${read.info.path}" is ${read.info.size} bytes, more than the ${RESOURCE_READ_CAP_BYTES}-byte cap on file resources; ` +
        `read it in ranges with the fs_read tool (offset and length, at most ${READ_CAP_BYTES} bytes each).`,
    );
  }
  const bytes = Buffer.from(read.content, "base64");
  const text = isTextMimeType(read.mimeType) ? decodeUtf8(bytes) : undefined;
  const meta = { "io.devhatchery/etag": read.info.etag, "io.devhatchery/size": read.info.size };
  const content = text === undefined ? { blob: read.content } : { text };
  return { contents: [{ uri, mimeType: read.mimeType, ...content, _meta: meta }] };
}

async function readDirectory(deps: ToolDeps, uri: string, runnerId: string, path: string): Promise<ReadResourceResult> {
  const listing = await deps.files.list(deps.principal, runnerId, path, DIRECTORY_READ_CAP, 1);
  const entries = listing.entries.map((entry) => ({
    name: entry.name,
    type: entry.type,
    size: entry.size,
    uri: fileUri(runnerId, entry.path),
  }));
  const text = JSON.stringify({ path: listing.directory.path, entries, truncated: listing.truncated });
  return { contents: [{ uri, mimeType: "application/json", text, _meta: { "io.devhatchery/type": "directory" } }] };
}

async function listFiles(deps: ToolDeps, extra: ToolExtra): Promise<ListResourcesResult> {
  const resources = new Map<string, Resource>();
  const runners = await deps.runners.list(deps.principal).catch((error: unknown) => {
    throw toResourceError(error);
  });
  for (const runner of runners.filter((candidate) => candidate.status === "ready")) {
    for (const folder of await deps.roots.listingFoldersFor(runner.runnerId, extra)) {
      const room = RESOURCE_LIST_CAP - resources.size;
      if (room <= 0) return { resources: [...resources.values()] };
      try {
        const listing = await deps.files.list(deps.principal, runner.runnerId, folder, room, LIST_DEPTH);
        for (const entry of listing.entries.filter((candidate) => candidate.type === "file")) {
          const resource = toResource(runner.runnerId, entry);
          resources.set(resource.uri, resource);
        }
      } catch (error) {
        // A root that does not exist in this runner (or a runner that stopped) adds nothing.
        deps.log.debug({ err: error, runner: runner.runnerId, folder }, "root folder not listed");
      }
    }
  }
  return { resources: [...resources.values()].slice(0, RESOURCE_LIST_CAP) };
}

function toResource(runnerId: string, entry: FileInfo): Resource {
  return {
    uri: fileUri(runnerId, entry.path),
    name: entry.path,
    title: `${entry.name} in ${runnerId}`,
    mimeType: detectMimeType(entry.path),
    size: entry.size,
  };
}

function decodeUtf8(bytes: Buffer): string | undefined {
  try {
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch {
    return undefined;
  }
}
