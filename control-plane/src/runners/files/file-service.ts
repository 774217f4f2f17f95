import type { AgentClient } from "../../agent-client/agent-client.js";
import type { FileInfo } from "../../agent-client/file-info.js";
import { NO_AUDIT, type AuditLog } from "../../audit.js";
import { ControlPlaneError } from "../../errors.js";
import type { Logger } from "../../log.js";
import { NO_METER, type Meter } from "../../meter.js";
import { createPatch } from "diff";
import { applyEdits, type FileEdit } from "./file-edits.js";
import { withLegacyEtagMismatch } from "./legacy-etag-mismatch.js";
import { detectMimeType } from "./mime-type.js";
import type { Principal } from "../runner.js";
import { resolveRunnerPath } from "./runner-path.js";
import type { RunnerService } from "../runner-service.js";

export type { FileInfo } from "../../agent-client/file-info.js";

export type FileEncoding = "utf8" | "base64";

export interface FileContent {
  info: FileInfo;
  content: string;
  encoding: FileEncoding;
  offset: number;
  /** Bytes returned. */
  length: number;
  mimeType: string;
}

export interface FileListing {
  directory: FileInfo;
  /** Breadth first: the directory's own entries sorted by name, then those one level down, and so on. */
  entries: FileInfo[];
  truncated: boolean;
}

/** The most fs_read returns in one call. */
export const READ_CAP_BYTES = 1024 * 1024;
/** The most fs_write accepts in one call (decoded bytes). */
export const WRITE_CAP_BYTES = 16 * 1024 * 1024;
/** Bytes read from the start of a file to sniff its type when its name does not tell. */
const SNIFF_BYTES = 8192;

/** The largest file fs_edit changes (it reads, edits and writes the whole file). */
export const EDIT_CAP_BYTES = 8 * 1024 * 1024;

/** A file changed by edit: as written, the version it was read from, and the change as a unified diff. */
export interface FileEditResult {
  info: FileInfo;
  previousEtag: string;
  replacements: number;
  diff: string;
}

/** Reads, writes, lists, moves and removes files in a principal's runners; relative paths resolve against /work. */
export class FileService {
  constructor(
    private readonly runners: RunnerService,
    private readonly log: Logger,
    private readonly audit: AuditLog = NO_AUDIT,
    private readonly meter: Meter = NO_METER,
  ) {}

  /** Reads a range (`length` 0 = to the end, within the cap); with `ifMatch`, only from that version of the file. */
  async read(
    principal: Principal,
    runnerRef: string,
    path: string,
    options: { encoding: FileEncoding; offset: number; length: number; ifMatch?: string | undefined },
  ): Promise<FileContent> {
    if (options.length > READ_CAP_BYTES) {
      throw new ControlPlaneError(
        "INVALID_ARGUMENT",
        `length ${options.length} exceeds the read cap of ${READ_CAP_BYTES} bytes; read the file in ranges with offset and length.`,
      );
    }
    const target = resolveRunnerPath(path);
    const ifMatch = options.ifMatch ?? "";
    const agent = await this.runners.connect(principal, runnerRef);
    const wanted = options.length > 0 ? options.length : READ_CAP_BYTES + 1;
    const { info, data } = await withLegacyEtagMismatch(ifMatch, () =>
      agent.fs.read(target, options.offset, wanted, ifMatch),
    );
    this.meter.fsOperation("read");
    this.meter.bytesStreamed("from_runner", data.length);
    if (data.length > READ_CAP_BYTES) {
      throw new ControlPlaneError(
        "RESOURCE_EXHAUSTED",
        `File "${info.path}" is ${info.size} bytes, more than the ${READ_CAP_BYTES}-byte read cap; read it in ranges with offset and length (at most ${READ_CAP_BYTES} each).`,
      );
    }
    const mimeType = detectMimeType(info.path, data, options.offset);
    return {
      info,
      content: data.toString(options.encoding),
      encoding: options.encoding,
      offset: options.offset,
      length: data.length,
      mimeType,
    };
  }

  /** Replaces a file atomically; with `ifMatch`, only if it is still that version (ETAG_MISMATCH otherwise). */
  async write(
    principal: Principal,
    runnerRef: string,
    path: string,
    content: string,
    options: { encoding: FileEncoding; createParents: boolean; mode: number | undefined; ifMatch?: string | undefined },
  ): Promise<FileInfo> {
    if (options.encoding === "base64" && !/^[A-Za-z0-9+/\r\n]*={0,2}\s*$/.test(content)) {
      throw new ControlPlaneError(
        "INVALID_ARGUMENT",
        'content is not valid base64; encode the bytes with standard base64, or use encoding "utf8" for text.',
      );
    }
    const data = Buffer.from(content, options.encoding);
    if (data.length > WRITE_CAP_BYTES) {
      throw new ControlPlaneError(
        "INVALID_ARGUMENT",
        `content is ${data.length} bytes, more than the ${WRITE_CAP_BYTES}-byte write cap; split the file or upload it in parts.`,
      );
    }
    const target = resolveRunnerPath(path);
    const ifMatch = options.ifMatch ?? "";
    const agent = await this.runners.connect(principal, runnerRef);
    const info = await withLegacyEtagMismatch(ifMatch, () =>
      agent.fs.write(target, data, { createParents: options.createParents, mode: options.mode ?? 0, ifMatch }),
    );
    this.log.info(
      { runner: runnerRef, principal: principal.id, path: info.path, bytes: data.length, conditional: ifMatch !== "" },
      "file written",
    );
    this.meter.fsOperation("write");
    this.meter.bytesStreamed("to_runner", data.length);
    this.audit.record({
      action: "fs.write",
      principal: principal.id,
      outcome: "ok",
      runner: agent.runnerId,
      path: info.path,
      size: data.length,
      conditional: ifMatch !== "",
    });
    return info;
  }

  /**
   * Applies exact-string replacements to a text file: read whole (with `ifMatch`, only that version), edited in
   * memory, written back atomically only if the file is still the version read (ETAG_MISMATCH otherwise, nothing
   * written). Keeps the file's mode.
   */
  async edit(
    principal: Principal,
    runnerRef: string,
    path: string,
    edits: readonly FileEdit[],
    options: { ifMatch?: string | undefined } = {},
  ): Promise<FileEditResult> {
    const target = resolveRunnerPath(path);
    const ifMatch = options.ifMatch ?? "";
    const agent = await this.runners.connect(principal, runnerRef);
    const { info: before, data } = await withLegacyEtagMismatch(ifMatch, () =>
      agent.fs.read(target, 0, EDIT_CAP_BYTES + 1, ifMatch),
    );
    if (data.length > EDIT_CAP_BYTES)
      throw new ControlPlaneError(
        "RESOURCE_EXHAUSTED",
        `File "${before.path}" is ${before.size} bytes, more than fs_edit's ${EDIT_CAP_BYTES}-byte cap; change it with a command (exec) instead.`,
      );
    const text = data.toString("utf8");
    if (data.includes(0) || !Buffer.from(text, "utf8").equals(data))
      throw new ControlPlaneError(
        "INVALID_ARGUMENT",
        `File "${before.path}" is not UTF-8 text; fs_edit changes text files (fs_write replaces binary ones).`,
      );
    const edited = applyEdits(text, edits, before.path);
    const info = await agent.fs.write(target, Buffer.from(edited.text, "utf8"), {
      createParents: false,
      mode: 0,
      ifMatch: before.etag,
    });
    this.log.info(
      { runner: runnerRef, principal: principal.id, path: info.path, replacements: edited.replacements },
      "file edited",
    );
    this.meter.fsOperation("write");
    this.meter.bytesStreamed("from_runner", data.length);
    this.meter.bytesStreamed("to_runner", info.size);
    this.audit.record({
      action: "fs.edit",
      principal: principal.id,
      outcome: "ok",
      runner: agent.runnerId,
      path: info.path,
      size: info.size,
      replacements: edited.replacements,
    });
    return {
      info,
      previousEtag: before.etag,
      replacements: edited.replacements,
      diff: createPatch(info.path, text, edited.text, before.etag, info.etag, { context: 3 }),
    };
  }

  /** Lists a directory down to `depth` levels (1 = its own entries), at most `limit` entries. */
  async list(principal: Principal, runnerRef: string, path: string, limit: number, depth = 1): Promise<FileListing> {
    const target = resolveRunnerPath(path);
    const agent = await this.runners.connect(principal, runnerRef);
    const listing = await agent.fs.list(target, limit, depth);
    this.meter.fsOperation("list");
    return listing;
  }

  /** Describes a path (following symlinks) with the media type of a file: null for anything else. */
  async stat(
    principal: Principal,
    runnerRef: string,
    path: string,
  ): Promise<{ info: FileInfo; mimeType: string | null }> {
    const target = resolveRunnerPath(path);
    const agent = await this.runners.connect(principal, runnerRef);
    const info = await agent.fs.stat(target);
    this.meter.fsOperation("stat");
    if (info.type !== "file") return { info, mimeType: null };
    return { info, mimeType: detectMimeType(info.path, await this.sniff(agent, info)) };
  }

  /** Creates a directory; with `parents`, its missing parents too, and an existing directory is fine. */
  async mkdir(
    principal: Principal,
    runnerRef: string,
    path: string,
    options: { parents: boolean; mode: number | undefined },
  ): Promise<FileInfo> {
    const target = resolveRunnerPath(path);
    const agent = await this.runners.connect(principal, runnerRef);
    const info = await agent.fs.mkdir(target, { parents: options.parents, mode: options.mode ?? 0 });
    this.meter.fsOperation("mkdir");
    this.audit.record({
      action: "fs.mkdir",
      principal: principal.id,
      outcome: "ok",
      runner: agent.runnerId,
      path: info.path,
      parents: options.parents,
    });
    return info;
  }

  /** Moves `source` to the path `destination`; replaces an existing destination only with `overwrite`. */
  async move(
    principal: Principal,
    runnerRef: string,
    source: string,
    destination: string,
    options: { overwrite: boolean; createParents: boolean },
  ): Promise<FileInfo> {
    const from = resolveRunnerPath(source);
    const to = resolveRunnerPath(destination);
    const agent = await this.runners.connect(principal, runnerRef);
    const info = await agent.fs.move(from, to, options);
    this.log.info(
      { runner: runnerRef, principal: principal.id, source: from, destination: to, overwrite: options.overwrite },
      "path moved",
    );
    this.meter.fsOperation("move");
    this.audit.record({
      action: "fs.move",
      principal: principal.id,
      outcome: "ok",
      runner: agent.runnerId,
      source: from,
      destination: info.path,
      overwrite: options.overwrite,
    });
    return info;
  }

  /** Removes a path (a symlink itself, not its target); a non-empty directory only when `recursive`. */
  async remove(
    principal: Principal,
    runnerRef: string,
    path: string,
    options: { recursive: boolean },
  ): Promise<FileInfo> {
    const target = resolveRunnerPath(path);
    const agent = await this.runners.connect(principal, runnerRef);
    const info = await agent.fs.remove(target, options.recursive);
    this.log.info(
      { runner: runnerRef, principal: principal.id, path: target, type: info.type, recursive: options.recursive },
      "path removed",
    );
    this.meter.fsOperation("remove");
    this.audit.record({
      action: "fs.remove",
      principal: principal.id,
      outcome: "ok",
      runner: agent.runnerId,
      path: target,
      type: info.type,
      recursive: options.recursive,
    });
    return info;
  }

  /** The start of this version of the file, or undefined when it cannot be read (no permission, changed meanwhile). */
  private async sniff(agent: AgentClient, info: FileInfo): Promise<Buffer | undefined> {
    try {
      return (await agent.fs.read(info.path, 0, SNIFF_BYTES, info.etag)).data;
    } catch (error) {
      if (
        error instanceof ControlPlaneError &&
        ["PERMISSION_DENIED", "FAILED_PRECONDITION", "ETAG_MISMATCH", "NOT_FOUND"].includes(error.code)
      )
        return undefined;
      throw error;
    }
  }
}
