import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { RootsListChangedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import type { Logger } from "../../log.js";
import type { ToolExtra } from "../progress.js";
import { listingFoldersFor, resolveAgainstRoots, type ClientRoot } from "./root-folders.js";

const ROOTS_TIMEOUT_MS = 10_000;

/**
 * roots/list answers as we accept them: the SDK's own schema allows only file:// URIs, but our roots also name
 * runner folders and workspaces (devhatchery://...), so any URI is taken and parseRoot decides what it names.
 */
const RootsAnswerSchema = z
  .object({ roots: z.array(z.object({ uri: z.string(), name: z.string().optional() }).passthrough()) })
  .passthrough();

/**
 * The client's roots for one session. They are asked for (roots/list) when first needed and again whenever the
 * client says they changed (notifications/roots/list_changed); a client without the roots capability has none,
 * and then relative paths resolve against /work.
 */
export class SessionRoots {
  private roots: ClientRoot[] | undefined;
  /** Grows on every list_changed, so an answer to an older roots/list never replaces a newer one. */
  private generation = 0;
  private readonly changeListeners = new Set<() => void>();

  constructor(
    private readonly server: Server,
    private readonly log: Logger,
  ) {
    server.setNotificationHandler(RootsListChangedNotificationSchema, () => {
      this.generation += 1;
      this.roots = undefined;
      // Asked at once over the session's standalone stream; a request that needs them meanwhile asks too.
      void this.fetch(undefined).then(() => this.changeListeners.forEach((listener) => listener()));
    });
  }

  /** The roots, asked over `extra`'s request stream when they are not known yet (the most reliable way back). */
  async list(extra?: ToolExtra): Promise<ClientRoot[]> {
    return this.roots ?? (await this.fetch(extra));
  }

  /** An absolute path for `path` in `runnerId`: relative paths resolve against the first matching root, else /work. */
  async resolvePath(runnerId: string, path: string, extra?: ToolExtra): Promise<string> {
    if (path.startsWith("/")) return resolveAgainstRoots([], runnerId, path);
    return resolveAgainstRoots(await this.list(extra), runnerId, path);
  }

  /** The folders `resources/list` shows for `runnerId` (see listingFoldersFor). */
  async listingFoldersFor(runnerId: string, extra?: ToolExtra): Promise<string[]> {
    return listingFoldersFor(await this.list(extra), runnerId);
  }

  /** Calls `listener` after the client's roots changed and were fetched again. */
  onChange(listener: () => void): () => void {
    this.changeListeners.add(listener);
    return () => this.changeListeners.delete(listener);
  }

  private async fetch(extra: ToolExtra | undefined): Promise<ClientRoot[]> {
    if (!this.server.getClientCapabilities()?.roots) return (this.roots = []);
    const generation = this.generation;
    try {
      const request = { method: "roots/list" as const };
      const options = { timeout: ROOTS_TIMEOUT_MS };
      const result = extra
        ? await extra.sendRequest(request, RootsAnswerSchema, options)
        : await this.server.request(request, RootsAnswerSchema, options);
      const roots = result.roots.map((root) => ({ uri: root.uri, name: root.name }));
      if (generation === this.generation) this.roots = roots;
      this.log.debug({ roots: roots.map((root) => root.uri) }, "client roots");
      return roots;
    } catch (error) {
      this.log.warn({ err: error }, "the client did not answer roots/list; using no roots until it does");
      return [];
    }
  }
}
