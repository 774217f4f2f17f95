import { createHash, randomBytes } from "node:crypto";
import { createWriteStream } from "node:fs";
import { chmod, mkdir, rm, writeFile } from "node:fs/promises";
import { join, posix } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";
import { constants as zlibConstants, createGzip, createZstdCompress } from "node:zlib";
import { NO_AUDIT, type AuditLog } from "../../audit.js";
import { asControlPlaneError, ControlPlaneError } from "../../errors.js";
import type { Logger } from "../../log.js";
import { NO_METER, type Meter } from "../../meter.js";
import { EXPORT_ROOT_DESTINATION, exportRootFolder, mountFolder } from "./export-destination.js";
import { ExportDirectoryWriter } from "./export-directory-writer.js";
import {
  hashBody,
  MANIFEST_SUFFIX,
  type ExportFormat,
  type ExportManifest,
  type ManifestEntry,
} from "./export-manifest.js";
import { assertFree, placeFile, placeFolder, removePlaced } from "./export-placement.js";
import { ExportQuota, type ExportAllowance } from "./export-quota.js";
import { readRootManifests, STAGING_DIR } from "./export-usage.js";
import type { MountPolicy } from "../mounts/mount-policy.js";
import type { Principal } from "../runner.js";
import type { RunnerService } from "../runner-service.js";
import { TarReader, type TarMemberHandler } from "../files/tar-reader.js";

export interface ExportServiceOptions {
  /** The export root: a folder per principal, and `.staging` for exports in progress. */
  root: string;
  /** The most bytes of uncompressed tar one export may read from the runner. */
  maxBytes: number;
  mountPolicy: MountPolicy;
}

export interface ExportRequest {
  path: string;
  include: string[];
  exclude: string[];
  format: ExportFormat;
  /** "export_root", or a folder in the runner under one of its read-write mounts. */
  destination: string;
  /** The export's name without extension; a default names the runner, the path and the time. */
  name?: string | undefined;
}

/** A finished export: its manifest and where it is. */
export interface ExportRecord {
  manifest: ExportManifest;
  /** The export's path on the host. */
  hostPath: string;
  /** The export's path in the runner, when it went to a mount. */
  runnerPath: string | undefined;
}

export const EXTENSION_BY_FORMAT: Record<ExportFormat, string> = {
  tar: ".tar",
  "tar.gz": ".tar.gz",
  "tar.zst": ".tar.zst",
  dir: "",
};
export const EXPORT_NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$/;
/** Progress is reported each time this many more bytes were read from the runner. */
const PROGRESS_STEP_BYTES = 1024 * 1024;

/** export_create and export_list: streams a runner's tar into an archive or folder, staged privately, placed whole. */
export class ExportService {
  private readonly quota: ExportQuota;

  constructor(
    private readonly runners: RunnerService,
    private readonly options: ExportServiceOptions,
    private readonly log: Logger,
    private readonly audit: AuditLog = NO_AUDIT,
    private readonly meter: Meter = NO_METER,
  ) {
    this.quota = new ExportQuota(options.root);
  }

  async create(
    principal: Principal,
    runnerRef: string,
    request: ExportRequest,
    onProgress: (bytes: number) => void = () => {},
    signal?: AbortSignal,
  ): Promise<ExportRecord> {
    const exportId = `e-${randomBytes(6).toString("hex")}`;
    const agent = await this.runners.connect(principal, runnerRef);
    const runnerId = agent.runnerId;
    const name = checkName(request.name ?? defaultName(runnerId, request.path));
    const fileName = name + EXTENSION_BY_FORMAT[request.format];
    const toMount = request.destination !== EXPORT_ROOT_DESTINATION;
    const folder = toMount
      ? await mountFolder(request.destination, await this.runners.binds(principal, runnerRef), this.options.mountPolicy)
      : await exportRootFolder(this.options.root, principal.id);
    const staging = join(this.options.root, STAGING_DIR, exportId);
    const log = this.log.child({ principal: principal.id, runner: runnerId, export: exportId });
    let allowance: ExportAllowance | undefined;
    try {
      // Exports into a runner's own mount are the runner's business; only the export root counts against export_mb.
      if (!toMount) allowance = await this.quota.begin(principal.id, this.runners.quotasOf(principal));
      const onWritten = (bytes: number): void => allowance?.written(bytes);
      await assertFree(folder, fileName);
      await assertFree(folder, fileName + MANIFEST_SUFFIX);
      await mkdir(staging, { recursive: true, mode: 0o700 });
      let read = 0;
      let reported = 0;
      const chunks = async function* (maxBytes: number): AsyncGenerator<Buffer> {
        for await (const chunk of agent.tar.out(
          { path: request.path, include: request.include, exclude: request.exclude },
          signal,
        )) {
          read += chunk.length;
          if (read > maxBytes) throw tooLarge(request.path, maxBytes);
          if (read - reported >= PROGRESS_STEP_BYTES) onProgress((reported = read));
          yield chunk;
        }
      };
      const content = join(staging, fileName);
      const written =
        request.format === "dir"
          ? await writeFolder(chunks(this.options.maxBytes), content, onWritten)
          : await writeArchive(chunks(this.options.maxBytes), content, request.format, onWritten, signal);
      const manifest: ExportManifest = {
        manifest_version: 1,
        export_id: exportId,
        name: fileName,
        format: request.format,
        principal: principal.id,
        runner_id: runnerId,
        source_path: request.path,
        include: request.include,
        exclude: request.exclude,
        created_at: new Date().toISOString(),
        bytes_written: written.bytes,
        sha256: written.sha256,
        file_count: written.files.filter((file) => file.type === "file").length,
        files: written.files,
      };
      await writeFile(join(staging, fileName + MANIFEST_SUFFIX), `${JSON.stringify(manifest, null, 2)}\n`, {
        mode: 0o644,
      });
      if (signal?.aborted)
        throw new ControlPlaneError("CANCELLED", `The export of "${request.path}" was cancelled; nothing was written.`);
      const place = async (): Promise<void> => {
        await (request.format === "dir"
          ? placeFolder(content, folder, fileName)
          : placeFile(content, folder, fileName));
        await placeFile(join(staging, fileName + MANIFEST_SUFFIX), folder, fileName + MANIFEST_SUFFIX).catch(
          async (error: unknown) => {
            await (request.format === "dir"
              ? rm(folder.entry(fileName), { recursive: true, force: true })
              : removePlaced(folder, fileName));
            throw error;
          },
        );
      };
      await (allowance ? allowance.land(written.bytes, place) : place());
      const hostPath = join(folder.path, fileName);
      log.info(
        {
          audit: true,
          action: "export",
          format: request.format,
          source: request.path,
          destination: hostPath,
          bytes: written.bytes,
          sha256: written.sha256,
        },
        "export written",
      );
      this.meter.bytesStreamed("from_runner", written.bytes);
      this.audit.record({
        action: "export.create",
        principal: principal.id,
        outcome: "ok",
        runner: runnerId,
        export: exportId,
        format: request.format,
        source: request.path,
        destination: hostPath,
        size: written.bytes,
        sha256: written.sha256,
      });
      return { manifest, hostPath, runnerPath: toMount ? posix.join(request.destination, fileName) : undefined };
    } catch (error) {
      log.info({ audit: true, action: "export", outcome: "failed", source: request.path, err: error }, "export failed");
      this.audit.record({
        action: "export.create",
        principal: principal.id,
        outcome: "failed",
        runner: runnerId,
        export: exportId,
        format: request.format,
        source: request.path,
        code: asControlPlaneError(error).code,
      });
      if (signal?.aborted && !(error instanceof ControlPlaneError && error.code === "CANCELLED")) {
        throw new ControlPlaneError(
          "CANCELLED",
          `The export of "${request.path}" was cancelled; nothing was written.`,
          { cause: error },
        );
      }
      throw error;
    } finally {
      allowance?.release();
      await folder.close();
      await rm(staging, { recursive: true, force: true });
    }
  }

  /** The caller's exports in the export root, newest first (other principals' folders are never read). */
  async list(principal: Principal): Promise<ExportRecord[]> {
    const { folder, manifests } = await readRootManifests(this.options.root, principal.id);
    return manifests
      .map((manifest) => ({ manifest, hostPath: join(folder, manifest.name), runnerPath: undefined }))
      .sort((a, b) => b.manifest.created_at.localeCompare(a.manifest.created_at));
  }
}

interface Written {
  bytes: number;
  sha256: string;
  files: ManifestEntry[];
}

/** `onWritten` sees the bytes written so far after every chunk; what it throws stops the export. */
async function writeArchive(
  chunks: AsyncIterable<Buffer>,
  path: string,
  format: Exclude<ExportFormat, "dir">,
  onWritten: (bytes: number) => void,
  signal?: AbortSignal,
): Promise<Written> {
  const files: ManifestEntry[] = [];
  const reader = new TarReader(collectEntries(files));
  const hash = createHash("sha256");
  let bytes = 0;
  const counter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      bytes += chunk.length;
      try {
        onWritten(bytes);
      } catch (error) {
        done(error as Error);
        return;
      }
      done(null, chunk);
    },
  });
  const tee = async function* (): AsyncGenerator<Buffer> {
    for await (const chunk of chunks) {
      await reader.write(chunk);
      yield chunk;
    }
    await reader.finish();
  };
  const compressors: Transform[] =
    format === "tar.gz"
      ? [createGzip()]
      : format === "tar.zst"
        ? [createZstdCompress({ params: { [zlibConstants.ZSTD_c_checksumFlag]: 1 } })]
        : [];
  try {
    await pipeline(
      [Readable.from(tee()), ...compressors, counter, createWriteStream(path, { flags: "wx", mode: 0o644 })],
      { signal },
    );
  } catch (error) {
    reader.abort();
    throw error;
  }
  return { bytes, sha256: hash.digest("hex"), files };
}

async function writeFolder(
  chunks: AsyncIterable<Buffer>,
  path: string,
  onWritten: (bytes: number) => void,
): Promise<Written> {
  await mkdir(path, { mode: 0o700 });
  const writer = new ExportDirectoryWriter(path, onWritten);
  const reader = new TarReader(writer.add);
  const hash = createHash("sha256");
  try {
    for await (const chunk of chunks) {
      hash.update(chunk);
      await reader.write(chunk);
    }
    await reader.finish();
  } catch (error) {
    reader.abort();
    throw error;
  }
  await writer.finish();
  await chmod(path, 0o755);
  return { bytes: writer.bytes, sha256: hash.digest("hex"), files: writer.entries };
}

function collectEntries(files: ManifestEntry[]): TarMemberHandler {
  return async (member, body) => {
    const path = member.name
      .split("/")
      .filter((part) => part !== "" && part !== ".")
      .join("/");
    if (member.type === "directory" && path) files.push({ path, type: "directory", size: 0, mode: member.mode });
    if (member.type === "symlink")
      files.push({ path, type: "symlink", size: 0, mode: member.mode, link_target: member.linkname });
    if (member.type === "file" || member.type === "contiguous-file")
      files.push({ path, type: "file", mode: member.mode, ...(await hashBody(body)) });
  };
}

function tooLarge(path: string, maxBytes: number): ControlPlaneError {
  return new ControlPlaneError(
    "RESOURCE_EXHAUSTED",
    `The export of "${path}" is larger than the limit of ${maxBytes} bytes (uncompressed) and was stopped; nothing was written. Export less (a subfolder, or exclude globs such as "**/node_modules").`,
    {
      hint: `Call export_create on a subfolder, or with exclude globs such as "**/node_modules" (exec "du -sh ${path}/*" shows where the bytes are).`,
    },
  );
}

function checkName(name: string): string {
  if (!EXPORT_NAME_PATTERN.test(name)) {
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      `The export name "${name}" is not allowed; use letters, digits, ".", "_" and "-" (starting with a letter or digit, at most 100), with no "/".`,
    );
  }
  return name;
}

function defaultName(runnerRef: string, path: string): string {
  const base =
    posix
      .basename(path)
      .replace(/[^A-Za-z0-9._-]/g, "_")
      .replace(/^[._-]+/, "") || "root";
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `${runnerRef}-${base.slice(0, 40)}-${stamp}`;
}
