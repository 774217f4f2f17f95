import type { sendUnaryData, ServerReadableStream, ServerUnaryCall, ServerWritableStream } from "@grpc/grpc-js";
import {
  FileType,
  FsServiceService,
  type FileInfo,
  type FsServiceServer,
  type ReadChunk,
  type ReadRequest,
  type TarInHeader,
  type TarInRequest,
  type TarInResponse,
  type TarOutChunk,
  type TarOutRequest,
  type WriteHeader,
  type WriteRequest,
  type WriteResponse,
} from "@devhatchery/proto/agent/v1/fs";
import { toGrpcError } from "../errors.js";
import type { Logger } from "../log.js";
import { encodeBytesField, soleBytesField } from "@devhatchery/proto/bytes-field";
import type { FileEntry, FileKind } from "./file-entry.js";
import type { FileSystem } from "./file-system.js";
import type { TarInSummary } from "./tar-extraction.js";
import { drained } from "./stream-drain.js";
import { receiveUpload } from "./upload-stream.js";

const FILE_TYPE: Record<FileKind, FileType> = {
  file: FileType.FILE_TYPE_FILE,
  directory: FileType.FILE_TYPE_DIRECTORY,
  symlink: FileType.FILE_TYPE_SYMLINK,
  other: FileType.FILE_TYPE_OTHER,
};

/** Field number of `data` in both ReadChunk and WriteRequest. */
const DATA_FIELD = 2;

/**
 * FsService as the server registers it: the generated definition, except that the bulk messages (a ReadChunk of
 * data alone, a WriteRequest of data) skip the generated codecs, which copy the bytes several times.
 */
export const FS_SERVICE_DEFINITION = {
  ...FsServiceService,
  read: {
    ...FsServiceService.read,
    responseSerialize: (chunk: ReadChunk): Buffer =>
      chunk.info || chunk.data.length === 0
        ? FsServiceService.read.responseSerialize(chunk)
        : encodeBytesField(DATA_FIELD, chunk.data),
  },
  write: {
    ...FsServiceService.write,
    requestDeserialize: (bytes: Buffer): WriteRequest => {
      const data = soleBytesField(bytes, DATA_FIELD);
      return data ? { message: { $case: "data", value: data } } : FsServiceService.write.requestDeserialize(bytes);
    },
  },
};

function toFileInfo(entry: FileEntry): FileInfo {
  const { kind, ...rest } = entry;
  return { ...rest, type: FILE_TYPE[kind] };
}

function unary<Req, Res>(work: (request: Req) => Promise<Res>) {
  return (call: ServerUnaryCall<Req, Res>, callback: sendUnaryData<Res>): void => {
    work(call.request).then(
      (response) => callback(null, response),
      (error: unknown) => callback(toGrpcError(error)),
    );
  };
}

/** A client-streaming handler: `work` consumes the call (see receiveUpload) and resolves with the response. */
function upload<Req, Res>(work: (call: ServerReadableStream<Req, Res>) => Promise<Res>) {
  return (call: ServerReadableStream<Req, Res>, callback: sendUnaryData<Res>): void => {
    work(call).then(
      (response) => callback(null, response),
      (error: unknown) => callback(toGrpcError(error)),
    );
  };
}

/** Sends every message with backpressure, then ends the call; a failure becomes the call's status. */
function download<Req, Res>(
  call: ServerWritableStream<Req, Res>,
  start: () => Promise<{ messages: AsyncIterable<Res>; close(): void }>,
): void {
  start()
    .then(async ({ messages, close }) => {
      call.on("cancelled", close);
      try {
        for await (const message of messages) {
          if (!call.write(message)) await drained(call, "the call");
        }
        call.end();
      } finally {
        close();
      }
    })
    .catch((error: unknown) => {
      if (!call.cancelled) call.emit("error", toGrpcError(error));
    });
}

/** The gRPC adapter for FsService: proto messages in and out, FileSystem does the work; changes are logged. */
export function createFsService(files: FileSystem, log: Logger): FsServiceServer {
  const changed = (entry: FileEntry, what: string, fields: Record<string, unknown> = {}): FileInfo => {
    log.info({ path: entry.path, ...fields }, what);
    return toFileInfo(entry);
  };
  return {
    stat: unary(async ({ path }) => ({ info: toFileInfo(await files.stat(path)) })),
    list: unary(async ({ path, depth, limit }) => {
      const listing = await files.list(path, depth, limit);
      return {
        directory: toFileInfo(listing.directory),
        entries: listing.entries.map(toFileInfo),
        truncated: listing.truncated,
      };
    }),
    read(call: ServerWritableStream<ReadRequest, ReadChunk>): void {
      const { path, offset, length, ifMatch } = call.request;
      download(call, async () => {
        const { info, stream } = await files.openRead(path, offset, length, ifMatch);
        async function* chunks(): AsyncIterable<ReadChunk> {
          let first: FileInfo | undefined = toFileInfo(info);
          for await (const data of stream as AsyncIterable<Buffer>) {
            yield { info: first, data };
            first = undefined;
          }
          if (first) yield { info: first, data: Buffer.alloc(0) };
        }
        return { messages: chunks(), close: () => stream.destroy() };
      });
    },
    write: upload<WriteRequest, WriteResponse>(async (call) => {
      const entry = await receiveUpload<WriteHeader, FileEntry>(call, "Write", ({ path, ...options }) =>
        files.beginWrite(path, options),
      );
      return { info: changed(entry, "file written", { bytes: entry.size }) };
    }),
    mkdir: unary(async ({ path, parents, mode }) => ({
      info: changed(await files.mkdir(path, { parents, mode }), "directory made"),
    })),
    move: unary(async ({ source, destination, overwrite, createParents }) => ({
      info: changed(await files.move(source, destination, { overwrite, createParents }), "path moved", { source }),
    })),
    remove: unary(async ({ path, recursive }) => ({
      info: changed(await files.remove(path, recursive), "path removed", { recursive }),
    })),
    chmod: unary(async ({ path, mode }) => ({ info: toFileInfo(await files.chmod(path, mode)) })),
    tarOut(call: ServerWritableStream<TarOutRequest, TarOutChunk>): void {
      const { path, include, exclude } = call.request;
      download(call, async () => {
        const tar = await files.tarOut(path, { include, exclude });
        async function* chunks(): AsyncIterable<TarOutChunk> {
          for await (const data of tar.chunks)
            yield { data: Buffer.from(data.buffer, data.byteOffset, data.byteLength) };
        }
        return { messages: chunks(), close: () => tar.close() };
      });
    },
    tarIn: upload<TarInRequest, TarInResponse>(async (call) => {
      const summary = await receiveUpload<TarInHeader, TarInSummary>(call, "TarIn", ({ path, ...options }) =>
        files.tarIn(path, options),
      );
      log.info({ path: summary.directory.path, entries: summary.entries, bytes: summary.bytes }, "archive extracted");
      return { directory: toFileInfo(summary.directory), entries: summary.entries, bytes: summary.bytes };
    }),
  };
}
