import { describe, expect, it } from "vitest";
import { ControlPlaneError, type ErrorCode } from "../errors.js";
import { RECOVERY_BY_CODE, toolFailure, toolSuccess } from "./tool-result.js";

describe("control-plane error → tool result", () => {
  it.each(Object.entries(RECOVERY_BY_CODE) as [ErrorCode, string][])(
    "renders %s with its recovery hint",
    (code, hint) => {
      expect(toolFailure(new ControlPlaneError(code, "What failed."))).toEqual({
        isError: true,
        content: [{ type: "text", text: `Error ${code}: What failed.\n${hint}` }],
      });
    },
  );

  it("renders the hint written where the error was raised instead of its code's fallback", () => {
    const failure = new ControlPlaneError("NOT_FOUND", 'Snapshot "x" not found.', {
      hint: "snapshot_list shows your snapshots.",
    });
    expect(toolFailure(failure).content).toEqual([
      { type: "text", text: 'Error NOT_FOUND: Snapshot "x" not found.\nsnapshot_list shows your snapshots.' },
    ]);
  });

  it("reveals nothing of an unexpected error", () => {
    const result = toolFailure(new Error("ECONNRESET at /var/run/docker.sock with token abc"));
    expect(result.content).toEqual([
      {
        type: "text",
        text: `Error INTERNAL: Unexpected internal error; the control plane log has the details.\n${RECOVERY_BY_CODE.INTERNAL}`,
      },
    ]);
  });

  it("returns structured content with a text rendering on success", () => {
    expect(toolSuccess({ ok: true }, "fine")).toEqual({
      content: [{ type: "text", text: "fine" }],
      structuredContent: { ok: true },
    });
  });
});
