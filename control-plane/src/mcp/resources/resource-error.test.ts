import { describe, expect, it } from "vitest";
import { ControlPlaneError, type ErrorCode } from "../../errors.js";
import { RECOVERY_BY_CODE } from "../tool-result.js";
import { toResourceError } from "./resource-error.js";

describe("control-plane error → resource request error", () => {
  it.each([
    ["NOT_FOUND", -32002],
    ["INVALID_ARGUMENT", -32602],
    ["RESOURCE_EXHAUSTED", -32602],
    ["FAILED_PRECONDITION", -32602],
    ["PERMISSION_DENIED", -32602],
    ["RUNNER_UNAVAILABLE", -32603],
    ["TIMEOUT", -32603],
  ] as [ErrorCode, number][])("sends %s as JSON-RPC code %i with the recovery hint", (code, jsonRpcCode) => {
    const error = toResourceError(new ControlPlaneError(code, "What failed."));
    expect({ code: error.code, message: error.message, data: error.data }).toEqual({
      code: jsonRpcCode,
      message: `${code}: What failed. ${RECOVERY_BY_CODE[code]}`,
      data: { code },
    });
  });

  it("sends the hint written where the error was raised instead of its code's fallback", () => {
    const error = toResourceError(
      new ControlPlaneError("NOT_FOUND", 'Snapshot "x" not found.', { hint: "snapshot_list shows your snapshots." }),
    );
    expect(error.message).toBe('NOT_FOUND: Snapshot "x" not found. snapshot_list shows your snapshots.');
  });

  it("reveals nothing of an unexpected error", () => {
    const error = toResourceError(new Error("EACCES /var/run/docker.sock token=abc"));
    expect(error.code).toBe(-32603);
    expect(error.message).toBe(
      `INTERNAL: Unexpected internal error; the control plane log has the details. ${RECOVERY_BY_CODE.INTERNAL}`,
    );
  });
});
