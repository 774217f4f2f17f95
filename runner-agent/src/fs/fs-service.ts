import type { sendUnaryData, ServerUnaryCall, ServerWritableStream } from "@grpc/grpc-js";
import {
  FileType,
  type FileInfo,
  type FsServiceServer,
  type ListRequest,
  type ListResponse,
  type ReadChunk,
  type ReadRequest,
  type WriteRequest,
  type WriteResponse,
} from "@devhatchery/proto/agent/v1/fs";
import { toGrpcError } from "../errors.js";
import type { FileEntry, FileKind, FileSystem } from "./file-system.js";

const FILE_TYPE: Record<FileKind, FileType> = {
  file: FileType.FILE_TYPE_FILE,
  directory: FileType.FILE_TYPE_DIRECTORY,
  symlink: FileType.FILE_TYPE_SYMLINK,
  other: FileType.FILE_TYPE_OTHER,
};

function toFileInfo(entry: FileEntry): FileInfo {
  return { path: entry.path, name: entry.name, type: FILE_TYPE[entry.kind], size: entry.size, mode: entry.mode, mtimeMs: entry.mtimeMs };
}

function unary<Req, Res>(work: (request: Req) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    work(call.request).then(
      (response) => callback(null, response),
      (error: unknown) => callback(toGrpcError(error)),
    );
  };
}

/** The gRPC adapter for FsService. */
export function createFsService(files: FileSystem): FsServiceServer {
  return {
    read(call: ServerWritableStream<ReadRequest, ReadChunk>): void {
      const { path, offset, length } = call.request;
      files.openRead(path, offset, length).then(
        async ({ info, stream }) => {
          call.on("cancelled", () => stream.destroy());
          let first: FileInfo | undefined = toFileInfo(info);
          try {
            for await (const data of stream) {
              if (!call.write({ info: first, data })) await new Promise((r) => call.once("drain", r));
              first = undefined;
            }
            if (first) call.write({ info: first, data: Buffer.alloc(0) });
            call.end();
          } catch (error) {
            call.emit("error", toGrpcError(error));
          }
        },
        (error: unknown) => call.emit("error", toGrpcError(error)),
      );
    },
    write: unary<WriteRequest, WriteResponse>(async ({ path, data, createParents, mode }) => ({
      info: toFileInfo(await files.write(path, data, { createParents, mode })),
    })),
    list: unary<ListRequest, ListResponse>(async ({ path, limit }) => {
      const listing = await files.list(path, limit);
      return { directory: toFileInfo(listing.directory), entries: listing.entries.map(toFileInfo), truncated: listing.truncated };
    }),
  };
}
