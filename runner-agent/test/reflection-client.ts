import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { credentials, loadPackageDefinition, type Metadata } from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";

const require = createRequire(import.meta.url);
const protoPath = join(
  dirname(require.resolve("@grpc/reflection/package.json")),
  "build/proto/grpc/reflection/v1/reflection.proto",
);

interface ReflectionResponse {
  listServicesResponse?: { service: { name: string }[] };
  fileDescriptorResponse?: { fileDescriptorProto: Buffer[] };
  errorResponse?: { errorCode: number; errorMessage: string };
}

/** Sends one request on the v1 ServerReflectionInfo stream, as grpcurl does, and returns the first answer. */
export function askReflection(
  address: string,
  metadata: Metadata,
  request: Record<string, string>,
): Promise<ReflectionResponse> {
  const definition = loadSync(protoPath, {
    keepCase: false,
    longs: String,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  const pkg = loadPackageDefinition(definition) as unknown as {
    grpc: {
      reflection: {
        v1: {
          ServerReflection: new (
            address: string,
            creds: ReturnType<typeof credentials.createInsecure>,
          ) => {
            serverReflectionInfo(
              metadata: Metadata,
            ): NodeJS.EventEmitter & { write(message: unknown): void; end(): void };
            close(): void;
          };
        };
      };
    };
  };
  const client = new pkg.grpc.reflection.v1.ServerReflection(address, credentials.createInsecure());
  return new Promise((resolve, reject) => {
    const call = client.serverReflectionInfo(metadata);
    call.once("data", (response: ReflectionResponse) => {
      call.end();
      client.close();
      resolve(response);
    });
    call.once("error", (error) => {
      client.close();
      reject(error);
    });
    call.write(request);
  });
}
