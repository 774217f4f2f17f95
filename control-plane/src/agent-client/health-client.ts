import { HealthCheckResponse_ServingStatus } from "@devhatchery/proto/health/v1";
import type { AgentTransport } from "./agent-transport.js";

/** The health role of an agent client: whether the agent is up and serving. */
export class HealthClient {
  constructor(private readonly transport: AgentTransport) {}

  /** True when the agent answers its health check as SERVING within `timeoutMs`. */
  isServing(timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const metadata = this.transport.metadata();
      // Wait for the connection (within the deadline) instead of failing at once while the agent is still starting.
      metadata.setOptions({ waitForReady: true });
      this.transport.health.check(
        { service: "" },
        metadata,
        { deadline: Date.now() + timeoutMs },
        (error, response) => {
          resolve(!error && response.status === HealthCheckResponse_ServingStatus.SERVING);
        },
      );
    });
  }
}
