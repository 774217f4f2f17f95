import { Duplex } from "node:stream";
import {
  status,
  type MethodDefinition,
  type Server,
  type ServerDuplexStream,
  type ServiceDefinition,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";

/** Server reflection v1 and v1alpha: one bidi method each. */
const REFLECTION_PATHS = {
  v1: "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo",
  v1alpha: "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo",
};

interface LoadedMethod {
  definition: MethodDefinition<unknown, unknown>;
  handler: (stream: Duplex) => void;
}

/** Loads the real reflection service and collects its methods instead of registering them. */
async function loadReflection(): Promise<Map<string, LoadedMethod>> {
  const { addReflectionService } = await import("./reflection-service.js");
  const methods = new Map<string, LoadedMethod>();
  addReflectionService({
    addService(service: ServiceDefinition, implementation: UntypedServiceImplementation) {
      for (const [name, definition] of Object.entries(service)) {
        const handler = (implementation[name] ??
          implementation[definition.originalName ?? ""]) as unknown as LoadedMethod["handler"];
        methods.set(definition.path, { definition, handler: handler.bind(implementation) });
      }
    },
  });
  return methods;
}

/** Presents a call of raw bytes to a handler as a call of messages, coded with the real method definition. */
function decodedCall(call: ServerDuplexStream<Buffer, Buffer>, definition: MethodDefinition<unknown, unknown>): Duplex {
  const stream = new Duplex({
    objectMode: true,
    read: () => undefined,
    write(message: unknown, _encoding, done) {
      call.write(definition.responseSerialize(message));
      done();
    },
    final(done) {
      call.end();
      done();
    },
  });
  call.on("data", (bytes: Buffer) => {
    try {
      stream.push(definition.requestDeserialize(bytes));
    } catch (error) {
      const details = `Cannot decode the server reflection request (${(error as Error).message}); send a grpc.reflection.v1 (or v1alpha) ServerReflectionRequest.`;
      call.emit("error", { code: status.INVALID_ARGUMENT, details });
    }
  });
  call.on("end", () => stream.push(null));
  call.on("cancelled", () => stream.destroy());
  return stream;
}

/**
 * Serves gRPC server reflection (see addReflectionService) but loads it on the first reflection call: protobufjs
 * and a parsed copy of every agent proto cost about 20 MB of memory, which an agent nobody inspects never needs.
 * The methods take raw bytes and decode them with the loaded definitions, the same for every call.
 */
export function addLazyReflection(server: Pick<Server, "addService">): void {
  let loading: Promise<Map<string, LoadedMethod>> | undefined;
  const identity = (bytes: Buffer): Buffer => bytes;
  const service: ServiceDefinition = {};
  const implementation: UntypedServiceImplementation = {};
  for (const [version, path] of Object.entries(REFLECTION_PATHS)) {
    Object.assign(service, {
      [version]: {
        path,
        requestStream: true,
        responseStream: true,
        requestSerialize: identity,
        requestDeserialize: identity,
        responseSerialize: identity,
        responseDeserialize: identity,
      },
    });
    implementation[version] = (call: ServerDuplexStream<Buffer, Buffer>): void => {
      loading ??= loadReflection();
      loading
        .then((methods) => {
          const method = methods.get(path);
          if (!method) throw new Error(`the reflection library no longer serves "${path}"`);
          method.handler(decodedCall(call, method.definition));
        })
        .catch((error: unknown) =>
          call.emit("error", {
            code: status.INTERNAL,
            details: `Server reflection is unavailable: ${(error as Error).message}`,
          }),
        );
    };
  }
  server.addService(service, implementation);
}
