import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { ERROR_CODE_BY_STATUS, fromGrpcError } from "./grpc-errors.js";

describe("gRPC status → control-plane error", () => {
  it.each([
    [status.INVALID_ARGUMENT, "INVALID_ARGUMENT", "bad path"],
    [status.NOT_FOUND, "NOT_FOUND", 'Cannot read "/x": no such file or directory'],
    [status.ALREADY_EXISTS, "ALREADY_EXISTS", "exists"],
    [status.PERMISSION_DENIED, "PERMISSION_DENIED", "denied"],
    [status.FAILED_PRECONDITION, "FAILED_PRECONDITION", "is a directory"],
    [status.RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED", "disk full"],
  ])("passes the agent's message through for status %i (%s)", (grpcStatus, code, details) => {
    expect(fromGrpcError({ code: grpcStatus, details }, "r-000000000001")).toMatchObject({ code, message: details });
  });

  it.each([
    [status.UNAVAILABLE, "RUNNER_UNAVAILABLE", 'Runner "r-000000000001" is not answering (connection refused); it may have stopped. Check it with runner_list, or spawn a new one with runner_spawn.'],
    [status.DEADLINE_EXCEEDED, "TIMEOUT", 'Runner "r-000000000001" did not answer in time.'],
    [status.CANCELLED, "CANCELLED", "The call was cancelled."],
    [status.UNAUTHENTICATED, "RUNNER_UNAVAILABLE", `Runner "r-000000000001" rejected the control plane's token; remove it and spawn a new one.`],
    [status.INTERNAL, "INTERNAL", 'Runner "r-000000000001" failed: connection refused.'],
  ])("explains status %i as %s", (grpcStatus, code, message) => {
    expect(fromGrpcError({ code: grpcStatus, details: "connection refused" }, "r-000000000001")).toMatchObject({ code, message });
  });

  it("covers every status it names", () => {
    expect(Object.keys(ERROR_CODE_BY_STATUS)).toHaveLength(10);
  });
});
