import { makeGenericClientConstructor } from "@grpc/grpc-js";
import {
  FsServiceService,
  type FsServiceClient,
  type ReadChunk,
  type WriteRequest,
} from "@devhatchery/proto/agent/v1/fs";
import { encodeBytesField, soleBytesField } from "@devhatchery/proto/bytes-field";

/** Field number of `data` in both ReadChunk and WriteRequest. */
const DATA_FIELD = 2;

/**
 * The generated FsService client, except that the bulk messages (a WriteRequest of data, a ReadChunk of data alone)
 * skip the generated codecs, which copy the bytes several times; the agent codes them the same way.
 */
export const FsTransferClient = makeGenericClientConstructor(
  {
    ...FsServiceService,
    read: {
      ...FsServiceService.read,
      responseDeserialize: (bytes: Buffer): ReadChunk => {
        const data = soleBytesField(bytes, DATA_FIELD);
        return data ? { info: undefined, data } : FsServiceService.read.responseDeserialize(bytes);
      },
    },
    write: {
      ...FsServiceService.write,
      requestSerialize: (request: WriteRequest): Buffer =>
        request.message?.$case === "data" && request.message.value.length > 0
          ? encodeBytesField(DATA_FIELD, request.message.value)
          : FsServiceService.write.requestSerialize(request),
    },
  },
  "devhatchery.agent.v1.FsService",
) as unknown as typeof FsServiceClient;
