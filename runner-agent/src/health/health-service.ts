import type { sendUnaryData, ServerUnaryCall, ServerWritableStream } from "@grpc/grpc-js";
import {
  HealthCheckResponse_ServingStatus as ServingStatus,
  type HealthCheckRequest,
  type HealthCheckResponse,
  type HealthServer,
} from "@devhatchery/proto/health/v1";

/** Services known to the health check; "" is the agent as a whole. */
const KNOWN_SERVICES = new Set([
  "",
  "devhatchery.agent.v1.ExecService",
  "devhatchery.agent.v1.FsService",
  "devhatchery.agent.v1.WatchService",
  "devhatchery.agent.v1.TokenService",
]);

/** Standard gRPC health: SERVING while the agent accepts work, NOT_SERVING once it drains. */
export function createHealthService(isServing: () => boolean): HealthServer {
  const statusOf = (service: string): ServingStatus => {
    if (!KNOWN_SERVICES.has(service)) return ServingStatus.SERVICE_UNKNOWN;
    return isServing() ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
  };
  return {
    check(
      call: ServerUnaryCall<HealthCheckRequest, HealthCheckResponse>,
      callback: sendUnaryData<HealthCheckResponse>,
    ): void {
      callback(null, { status: statusOf(call.request.service) });
    },
    watch(call: ServerWritableStream<HealthCheckRequest, HealthCheckResponse>): void {
      call.write({ status: statusOf(call.request.service) });
    },
  };
}
