import type { ClientReadableStream, ClientWritableStream } from "@grpc/grpc-js";
import type { FileInfo as ProtoFileInfo, ListResponse, ReadChunk, WriteRequest } from "@devhatchery/proto/agent/v1/fs";
import type { AgentTransport } from "./agent-transport.js";
import { ByteCollector } from "./byte-collector.js";
import { toFileInfo, type FileInfo } from "./file-info.js";

/** The unary fs responses (stat, mkdir, move, remove) all carry one FileInfo. */
type InfoResponse = { info?: ProtoFileInfo | undefined };

/** Bytes per data message of a streamed write (128 KiB to 1 MiB measured the same). */
const WRITE_CHUNK_BYTES = 256 * 1024;

/** A file's bytes (or the part asked for) and the version they were read from. */
export interface FileContents {
  info: FileInfo;
  data: Buffer;
}

/** A directory and its entries, breadth first; `truncated` when the limit cut the listing short. */
export interface DirectoryListing {
  directory: FileInfo;
  entries: FileInfo[];
  truncated: boolean;
}

/** The files role of an agent client: read, write, list, describe, create, move and remove paths in the runner. */
export class FsClient {
  constructor(private readonly transport: AgentTransport) {}

  /** Reads up to `length` bytes (0 = to the end) from `offset`; with `ifMatch`, only from that version of the file. */
  async read(path: string, offset: number, length: number, ifMatch = ""): Promise<FileContents> {
    const call: ClientReadableStream<ReadChunk> = this.transport.fs.read(
      { path, offset, length, ifMatch },
      this.transport.metadata(),
    );
    const data = new ByteCollector();
    let info: FileInfo | undefined;
    try {
      for await (const chunk of call as AsyncIterable<ReadChunk>) {
        if (chunk.info) {
          info = toFileInfo(chunk.info);
          const available = Math.max(0, info.size - offset);
          data.expect(length > 0 ? Math.min(length, available) : available);
        }
        data.push(chunk.data);
      }
    } catch (error) {
      throw this.transport.fail(error);
    }
    return { info: info ?? toFileInfo(undefined), data: data.result() };
  }

  /**
   * Replaces a file atomically through the streamed Write RPC; with `ifMatch` (an etag), only if the file is still
   * that version (FAILED_PRECONDITION otherwise). `mode` 0 keeps an existing file's mode, else 0644.
   */
  write(
    path: string,
    data: Buffer,
    options: { createParents: boolean; mode: number; ifMatch?: string },
  ): Promise<FileInfo> {
    return new Promise((resolve, reject) => {
      const call: ClientWritableStream<WriteRequest> = this.transport.fs.write(
        this.transport.metadata(),
        (error, response) => (error ? reject(this.transport.fail(error)) : resolve(toFileInfo(response.info))),
      );
      const header = { path, createParents: options.createParents, mode: options.mode, ifMatch: options.ifMatch ?? "" };
      let offset = 0;
      const sendData = (): void => {
        while (offset < data.length) {
          const chunk = data.subarray(offset, offset + WRITE_CHUNK_BYTES);
          offset += chunk.length;
          if (!call.write({ message: { $case: "data", value: chunk } })) {
            call.once("drain", sendData);
            return;
          }
        }
        call.end();
      };
      call.write({ message: { $case: "header", value: header } });
      sendData();
    });
  }

  /** Lists a directory breadth first down to `depth` levels (0 or 1 = its own entries), at most `limit` entries. */
  list(path: string, limit: number, depth = 1): Promise<DirectoryListing> {
    return this.transport.unary(
      (done) => this.transport.fs.list({ path, limit, depth }, this.transport.metadata(), done),
      (response: ListResponse) => ({
        directory: toFileInfo(response.directory),
        entries: response.entries.map(toFileInfo),
        truncated: response.truncated,
      }),
    );
  }

  /** Describes a path, following symlinks (`linkTarget` says when it is one); a dangling symlink describes itself. */
  stat(path: string): Promise<FileInfo> {
    return this.transport.unary(
      (done) => this.transport.fs.stat({ path }, this.transport.metadata(), done),
      (response: InfoResponse) => toFileInfo(response.info),
    );
  }

  /** Creates a directory; with `parents`, also its missing parents, and an existing directory is fine. `mode` 0 = 0755. */
  mkdir(path: string, options: { parents: boolean; mode: number }): Promise<FileInfo> {
    return this.transport.unary(
      (done) =>
        this.transport.fs.mkdir(
          { path, parents: options.parents, mode: options.mode },
          this.transport.metadata(),
          done,
        ),
      (response: InfoResponse) => toFileInfo(response.info),
    );
  }

  /** Renames `source` to `destination` (its new path, not a folder to move it into); returns the destination. */
  move(
    source: string,
    destination: string,
    options: { overwrite: boolean; createParents: boolean },
  ): Promise<FileInfo> {
    return this.transport.unary(
      (done) =>
        this.transport.fs.move(
          { source, destination, overwrite: options.overwrite, createParents: options.createParents },
          this.transport.metadata(),
          done,
        ),
      (response: InfoResponse) => toFileInfo(response.info),
    );
  }

  /** Removes a file, a symlink (not its target) or a directory (non-empty only when `recursive`); returns what it was. */
  remove(path: string, recursive: boolean): Promise<FileInfo> {
    return this.transport.unary(
      (done) => this.transport.fs.remove({ path, recursive }, this.transport.metadata(), done),
      (response: InfoResponse) => toFileInfo(response.info),
    );
  }

  /**
   * The `dev:ino` (decimal) of what `path` names in the runner, symlinks followed; "0:0" from an agent too old to say.
   * A host folder bound into the runner shows the host's numbers.
   */
  identity(path: string): Promise<string> {
    return this.transport.unary(
      (done) => this.transport.fs.stat({ path }, this.transport.metadata(), done),
      (response: InfoResponse) => `${response.info?.dev ?? "0"}:${response.info?.ino ?? "0"}`,
    );
  }
}
