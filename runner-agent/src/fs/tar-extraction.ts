import { chmod, mkdir, mkdtemp, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { extract as createExtract } from "tar-stream";
import { AgentError, fromSystemError } from "../errors.js";
import { describePath, isMissing, type FileEntry } from "./file-entry.js";
import { drained } from "./stream-drain.js";
import { StagingTree } from "./staging-tree.js";
import { applyMerge, planMerge } from "./tar-merge.js";
import type { UploadSink } from "./upload-stream.js";

export interface TarInOptions {
  /** Create the target directory (and its parents) when missing. */
  createParents: boolean;
  /** Replace existing files and symlinks; otherwise one existing fails the whole archive. */
  overwrite: boolean;
}

export interface TarInSummary {
  directory: FileEntry;
  entries: number;
  bytes: number;
}

const STAGING_PREFIX = ".devhatchery-tar-";

/**
 * An all-or-nothing extraction of a streamed tar archive into a directory. Members are checked and written into a
 * hidden staging directory inside the target as the bytes arrive; `finish` checks the links once more, then moves
 * everything into place (one rename each) and only then touches the target. `abort` (or any failure) removes the
 * staging directory, and the target directory too when this extraction created it.
 */
export class TarExtraction implements UploadSink<TarInSummary> {
  private readonly extract = createExtract();
  private readonly consumed: Promise<void>;
  private readonly tree: StagingTree;

  private constructor(
    private readonly target: string,
    private readonly staging: string,
    private readonly created: string | undefined,
    private readonly overwrite: boolean,
  ) {
    this.tree = new StagingTree(target, staging);
    this.consumed = this.consume();
    this.consumed.catch(() => undefined);
  }

  static async begin(target: string, options: TarInOptions): Promise<TarExtraction> {
    const existing = await stat(target).catch((error: unknown) => {
      if (isMissing(error)) return undefined;
      throw fromSystemError(error, "extract an archive into", target);
    });
    let created: string | undefined;
    try {
      if (!existing) {
        if (!options.createParents) {
          throw new AgentError(
            "NOT_FOUND",
            `Cannot extract the archive into "${target}": the directory does not exist; set create_parents to create it.`,
          );
        }
        created = (await mkdir(target, { recursive: true })) ?? undefined;
      } else if (!existing.isDirectory()) {
        throw new AgentError(
          "FAILED_PRECONDITION",
          `Cannot extract the archive into "${target}": it is not a directory; name a directory (a new one needs create_parents).`,
        );
      }
      return new TarExtraction(target, await mkdtemp(join(target, STAGING_PREFIX)), created, options.overwrite);
    } catch (error) {
      if (created) await rm(created, { recursive: true, force: true });
      throw fromSystemError(error, "extract an archive into", target);
    }
  }

  /** Feeds the next bytes of the archive; rejects with the reason once the archive was refused. */
  async write(chunk: Uint8Array): Promise<void> {
    if (this.extract.write(chunk)) return;
    await drained(this.extract, "the archive").catch(async () => {
      await this.consumed; // rejects with the reason the extraction stopped
      throw new AgentError("INTERNAL", `Cannot extract the archive into "${this.target}": extraction stopped early.`);
    });
  }

  /** Ends the archive, then moves what it held into place. */
  async finish(cancelled?: AbortSignal): Promise<TarInSummary> {
    this.extract.end(null);
    await this.consumed;
    try {
      await this.tree.checkLinkChains();
      const plan = await planMerge(this.staging, this.target, this.overwrite);
      if (cancelled?.aborted)
        throw new AgentError(
          "FAILED_PRECONDITION",
          `Cannot extract the archive into "${this.target}": the call was cancelled; nothing was extracted.`,
        );
      await applyMerge(plan);
      const depth = (path: string): number => path.split("/").length;
      const deepestFirst = [...this.tree.directoryModes]
        .filter(([path]) => !plan.existingDirectories.has(path))
        .sort(([a], [b]) => depth(b) - depth(a));
      for (const [path, mode] of deepestFirst) await chmod(join(this.target, path), mode);
      await rm(this.staging, { recursive: true, force: true });
      return {
        directory: await describePath(this.target, await stat(this.target, { bigint: true })),
        entries: this.tree.entries,
        bytes: this.tree.bytes,
      };
    } catch (error) {
      throw fromSystemError(error, "extract the archive into", this.target);
    }
  }

  async abort(): Promise<void> {
    this.extract.destroy();
    await this.consumed.catch(() => undefined);
    await rm(this.staging, { recursive: true, force: true });
    if (this.created) await rm(this.created, { recursive: true, force: true });
  }

  private async consume(): Promise<void> {
    // When the archive itself is malformed, a member's body fails with a generic "destroyed" error; report the cause.
    let archiveError: unknown;
    this.extract.on("error", (error: unknown) => (archiveError = error));
    try {
      for await (const entry of this.extract) await this.tree.add(entry.header, entry as AsyncIterable<Buffer>);
    } catch (error) {
      throw this.explain(error instanceof AgentError ? error : (archiveError ?? error));
    }
  }

  private explain(error: unknown): AgentError {
    if (error instanceof AgentError) return error;
    if (/^E[A-Z]+$/.test((error as NodeJS.ErrnoException).code ?? ""))
      return fromSystemError(error, "extract the archive into", this.target);
    return new AgentError(
      "INVALID_ARGUMENT",
      `Cannot extract the archive into "${this.target}": it is not a valid tar archive (${(error as Error).message}). ` +
        "Nothing was extracted; send an uncompressed tar (ustar, pax or GNU), decompressing .tar.gz or .tar.zst first.",
      { cause: error },
    );
  }
}
