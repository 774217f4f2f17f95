import { describe, expect, it } from "vitest";
import { bindCheckLabels, bindChecksFrom } from "./bind-check-label.js";
import { LABEL } from "./labels.js";

describe("the bind-checks label", () => {
  const check = { alias: "data", subpath: "reports/2024", identity: "65024:2147113" };

  it("records each checked bind by target and reads it back", () => {
    const labels = bindCheckLabels([
      { source: "/srv/data/reports/2024", target: "/export/reports", readOnly: true, check },
      { source: "/srv/old", target: "/export/old", readOnly: true },
    ]);
    expect(labels).toEqual({ [LABEL.bindChecks]: JSON.stringify({ "/export/reports": check }) });
    expect([...bindChecksFrom(labels)]).toEqual([["/export/reports", check]]);
  });

  it("sets no label without checked binds, and reads nothing from a missing or malformed one", () => {
    expect(bindCheckLabels(undefined)).toEqual({});
    expect(bindCheckLabels([{ source: "/srv/old", target: "/export/old", readOnly: true }])).toEqual({});
    expect(bindChecksFrom({}).size).toBe(0);
    expect(bindChecksFrom({ [LABEL.bindChecks]: "{not json" }).size).toBe(0);
    expect(
      bindChecksFrom({ [LABEL.bindChecks]: JSON.stringify({ "/export/a": { alias: "a" }, "/export/b": null }) }).size,
    ).toBe(0);
  });
});
