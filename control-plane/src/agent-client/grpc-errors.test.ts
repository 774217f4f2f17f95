import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { runWithRequestContext } from "../request-context.js";
import { ERROR_CODE_BY_STATUS, fromGrpcError } from "./grpc-errors.js";

describe("gRPC status → control-plane error", () => {
  it.each([
    [status.INVALID_ARGUMENT, "INVALID_ARGUMENT", "bad path"],
    [status.NOT_FOUND, "NOT_FOUND", 'Cannot read "/x": no such file or directory'],
    [status.ALREADY_EXISTS, "ALREADY_EXISTS", "exists"],
    [status.PERMISSION_DENIED, "PERMISSION_DENIED", "denied"],
    [status.FAILED_PRECONDITION, "FAILED_PRECONDITION", "is a directory"],
    [
      status.ABORTED,
      "ETAG_MISMATCH",
      'Cannot write "/work/a": if_match expected etag "1-2-3-4" but the current etag is "1-2-3-5"; the file changed since you read it.',
    ],
    [status.RESOURCE_EXHAUSTED, "RESOURCE_EXHAUSTED", "disk full"],
  ])("passes the agent's message through for status %i (%s)", (grpcStatus, code, details) => {
    expect(fromGrpcError({ code: grpcStatus, details }, "r-000000000001")).toMatchObject({ code, message: details });
  });

  it.each([
    [
      status.UNAVAILABLE,
      "RUNNER_UNAVAILABLE",
      'Runner "r-000000000001" is not answering; its agent may have stopped or the runner may be gone. Check it with runner_list, or spawn a new one with runner_spawn. See the control plane log.',
    ],
    [status.DEADLINE_EXCEEDED, "TIMEOUT", 'Runner "r-000000000001" did not answer in time.'],
    [status.CANCELLED, "CANCELLED", "The call was cancelled."],
    [
      status.UNAUTHENTICATED,
      "RUNNER_UNAVAILABLE",
      `Runner "r-000000000001" rejected the control plane's token; remove it and spawn a new one.`,
    ],
    [status.INTERNAL, "INTERNAL", 'Runner "r-000000000001" failed with an internal error. See the control plane log.'],
  ])("explains status %i as %s", (grpcStatus, code, message) => {
    expect(fromGrpcError({ code: grpcStatus, details: "connection refused" }, "r-000000000001")).toMatchObject({
      code,
      message,
    });
  });

  // Details as grpc-js gives them (captured from real calls to a closed port and an unresolvable name).
  it.each([
    [
      status.UNAVAILABLE,
      "No connection established. Last error: Error: connect ECONNREFUSED 172.18.0.3:7070. Resolution note: ",
    ],
    [status.UNAVAILABLE, "Name resolution failed for target dns:devhatchery-r-000000000001:7070"],
    [status.UNAVAILABLE, "Connection dropped"],
    [status.INTERNAL, "Received RST_STREAM with code 2 triggered by internal client error: Protocol error"],
    [status.UNKNOWN, "Error: EHOSTUNREACH 172.18.0.3:7070 lookup on 127.0.0.11:53"],
  ])(
    "keeps transport details of status %i out of the message, pointing at the request's log lines",
    (grpcStatus, details) => {
      const error = runWithRequestContext({ correlationId: "req-42" }, () =>
        fromGrpcError({ code: grpcStatus, details }, "r-000000000001"),
      );
      expect(error.message).not.toMatch(/\d+\.\d+\.\d+\.\d+|:7070|:53|ECONN|EHOST|dns:|RST_STREAM|resolution/i);
      expect(error.message).toMatch(/^Runner "r-000000000001" .* See the control plane log, request id "req-42"\.$/);
    },
  );

  it("covers every status it names", () => {
    expect(Object.keys(ERROR_CODE_BY_STATUS)).toHaveLength(11);
  });
});
