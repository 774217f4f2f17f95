import type { Server } from "@grpc/grpc-js";
import { loadFileDescriptorSetFromBuffer } from "@grpc/proto-loader";
import { ReflectionService } from "@grpc/reflection";
import { DESCRIPTOR_SET_BASE64 } from "@devhatchery/proto/descriptor-set";

/**
 * Serves gRPC server reflection (v1 and v1alpha) for every agent service, so `grpcurl` can list and call
 * them. Reflection sits behind the same token guard as every other service.
 */
export function addReflectionService(server: Pick<Server, "addService">): void {
  const definition = loadFileDescriptorSetFromBuffer(Buffer.from(DESCRIPTOR_SET_BASE64, "base64"));
  new ReflectionService(definition).addToServer(server);
}
