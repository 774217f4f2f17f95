import { describe, expect, it } from "vitest";
import { loadAgentConfig } from "./config.js";

const token = "t".repeat(32);

describe("loadAgentConfig", () => {
  it("applies defaults", () => {
    expect(loadAgentConfig({ DEVHATCHERY_AGENT_TOKEN: token })).toEqual({ token, host: "0.0.0.0", port: 7070, debugPort: 7071, workDir: "/work", logLevel: "info" });
  });

  it("lists every problem at once", () => {
    expect(() => loadAgentConfig({ DEVHATCHERY_AGENT_TOKEN: "short", DEVHATCHERY_AGENT_PORT: "99999", DEVHATCHERY_AGENT_WORKDIR: "relative" })).toThrow(
      [
        "Invalid runner agent configuration:",
        "  DEVHATCHERY_AGENT_TOKEN: DEVHATCHERY_AGENT_TOKEN must be at least 32 characters",
        "  DEVHATCHERY_AGENT_PORT: Too big: expected number to be <=65535",
        "  DEVHATCHERY_AGENT_WORKDIR: DEVHATCHERY_AGENT_WORKDIR must be an absolute path",
      ].join("\n"),
    );
  });

  it("says where a missing token comes from", () => {
    expect(() => loadAgentConfig({})).toThrow("DEVHATCHERY_AGENT_TOKEN is required: the control plane sets it when it creates the runner");
  });
});
