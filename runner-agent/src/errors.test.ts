import { status } from "@grpc/grpc-js";
import { describe, expect, it } from "vitest";
import { AgentError, fromSystemError, GRPC_STATUS_BY_CODE, toGrpcError, type AgentErrorCode } from "./errors.js";

describe("agent error → gRPC status", () => {
  it.each(Object.entries(GRPC_STATUS_BY_CODE) as [AgentErrorCode, status][])(
    "maps %s to gRPC status %i with the message",
    (code, grpcStatus) => {
      expect(toGrpcError(new AgentError(code, `failed with ${code}`))).toMatchObject({
        code: grpcStatus,
        details: `failed with ${code}`,
      });
    },
  );

  it("hides unexpected errors behind INTERNAL", () => {
    expect(toGrpcError(new Error("secret path /root/.ssh"))).toMatchObject({
      code: status.INTERNAL,
      details: "internal agent error; see the agent log",
    });
  });

  it.each([
    ["ENOENT", "NOT_FOUND"],
    ["EACCES", "PERMISSION_DENIED"],
    ["EEXIST", "ALREADY_EXISTS"],
    ["ENOTDIR", "FAILED_PRECONDITION"],
    ["ENOSPC", "RESOURCE_EXHAUSTED"],
    ["ENAMETOOLONG", "INVALID_ARGUMENT"],
    ["ELOOP", "INVALID_ARGUMENT"],
    ["EWHATEVER", "INTERNAL"],
  ])("maps system error %s to %s", (errno, code) => {
    const error = Object.assign(new Error(`${errno}: boom`), { code: errno });
    expect(fromSystemError(error, "read", "/x").code).toBe(code);
  });

  it("keeps a message about a 64 KiB path small enough for a gRPC trailer, without repeating Node's text", () => {
    const path = `/work/${"a".repeat(64 * 1024)}`;
    const error = Object.assign(new Error(`ENAMETOOLONG: name too long, open '${path}'`), { code: "ENAMETOOLONG" });
    const failure = fromSystemError(error, "read", path);
    expect(failure.code).toBe("INVALID_ARGUMENT");
    expect(failure.message).toBe(
      `Cannot read "/work/${"a".repeat(154)}…${"a".repeat(64)} (65542 characters)": the path is too long (at most 4096 bytes, and 255 bytes per name); use a shorter path`,
    );
  });

  it("caps the details of any agent error", () => {
    expect(toGrpcError(new AgentError("INVALID_ARGUMENT", "x".repeat(10_000))).details).toHaveLength(4097);
  });

  it("calls a path with a NUL byte the caller's mistake, not an internal error", () => {
    const error = Object.assign(new TypeError("The argument 'path' must be a string without null bytes"), {
      code: "ERR_INVALID_ARG_VALUE",
    });
    expect(fromSystemError(error, "use working directory", "/work/a\0b")).toMatchObject({
      code: "INVALID_ARGUMENT",
      message: 'Cannot use working directory "/work/a\\0b": a path cannot contain a NUL byte; remove it.',
    });
  });
});
