import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { AgentError, fromSystemError, GRPC_STATUS_BY_CODE, toGrpcError, type AgentErrorCode } from "./errors.js";

describe("agent error → gRPC status", () => {
  it.each(Object.entries(GRPC_STATUS_BY_CODE) as [AgentErrorCode, status][])("maps %s to gRPC status %i with the message", (code, grpcStatus) => {
    expect(toGrpcError(new AgentError(code, `failed with ${code}`))).toMatchObject({ code: grpcStatus, details: `failed with ${code}` });
  });

  it("hides unexpected errors behind INTERNAL", () => {
    expect(toGrpcError(new Error("secret path /root/.ssh"))).toMatchObject({ code: status.INTERNAL, details: "internal agent error; see the agent log" });
  });

  it.each([
    ["ENOENT", "NOT_FOUND"],
    ["EACCES", "PERMISSION_DENIED"],
    ["EEXIST", "ALREADY_EXISTS"],
    ["ENOTDIR", "FAILED_PRECONDITION"],
    ["ENOSPC", "RESOURCE_EXHAUSTED"],
    ["EWHATEVER", "INTERNAL"],
  ])("maps system error %s to %s", (errno, code) => {
    const error = Object.assign(new Error(`${errno}: boom`), { code: errno });
    expect(fromSystemError(error, "read", "/x").code).toBe(code);
  });
});
