import { describe, expect, it } from "vitest";
import { loadAgentConfig } from "./config.js";

const token = "t".repeat(32);

describe("loadAgentConfig", () => {
  it("applies defaults", () => {
    expect(loadAgentConfig({ DEVHATCHERY_AGENT_TOKEN: token })).toEqual({
      token,
      host: "0.0.0.0",
      port: 7070,
      debugPort: 7071,
      workDir: "/work",
      logLevel: "info",
      exec: {
        spillDir: "/var/tmp/devhatchery-agent/exec",
        ringBytes: 1024 * 1024,
        maxOutputBytes: 256 * 1024 * 1024,
        outputBudgetBytes: 1024 * 1024 * 1024,
        retainMs: 30 * 60 * 1000,
        retainCount: 64,
        killGraceMs: 2_000,
        keepaliveMs: 15_000,
      },
    });
  });

  it("reads the exec output caps and retention, and refuses a cap smaller than four rings", () => {
    const config = loadAgentConfig({
      DEVHATCHERY_AGENT_TOKEN: token,
      DEVHATCHERY_AGENT_EXEC_SPILL_DIR: "/spill",
      DEVHATCHERY_AGENT_EXEC_RING_BYTES: "65536",
      DEVHATCHERY_AGENT_EXEC_MAX_OUTPUT_BYTES: "1048576",
      DEVHATCHERY_AGENT_EXEC_RETAIN_MS: "1000",
      DEVHATCHERY_AGENT_EXEC_RETAIN_COUNT: "3",
      DEVHATCHERY_AGENT_EXEC_OUTPUT_MB: "64",
    });
    expect(config.exec).toMatchObject({
      spillDir: "/spill",
      ringBytes: 65536,
      maxOutputBytes: 1048576,
      outputBudgetBytes: 64 * 1024 * 1024,
      retainMs: 1000,
      retainCount: 3,
    });
    expect(() =>
      loadAgentConfig({
        DEVHATCHERY_AGENT_TOKEN: token,
        DEVHATCHERY_AGENT_EXEC_RING_BYTES: "1048576",
        DEVHATCHERY_AGENT_EXEC_MAX_OUTPUT_BYTES: "2097152",
      }),
    ).toThrow(
      "Invalid runner agent configuration:\n  DEVHATCHERY_AGENT_EXEC_MAX_OUTPUT_BYTES: DEVHATCHERY_AGENT_EXEC_MAX_OUTPUT_BYTES must be at least 4 times DEVHATCHERY_AGENT_EXEC_RING_BYTES",
    );
  });

  it("lists every problem at once", () => {
    expect(() =>
      loadAgentConfig({
        DEVHATCHERY_AGENT_TOKEN: "short",
        DEVHATCHERY_AGENT_PORT: "99999",
        DEVHATCHERY_AGENT_WORKDIR: "relative",
      }),
    ).toThrow(
      [
        "Invalid runner agent configuration:",
        "  DEVHATCHERY_AGENT_TOKEN: DEVHATCHERY_AGENT_TOKEN must be at least 32 characters",
        "  DEVHATCHERY_AGENT_PORT: Too big: expected number to be <=65535",
        "  DEVHATCHERY_AGENT_WORKDIR: DEVHATCHERY_AGENT_WORKDIR must be an absolute path",
      ].join("\n"),
    );
  });

  it("says where a missing token comes from", () => {
    expect(() => loadAgentConfig({})).toThrow(
      "DEVHATCHERY_AGENT_TOKEN is required: the control plane sets it when it creates the runner",
    );
  });
});
