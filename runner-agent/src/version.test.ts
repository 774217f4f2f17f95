import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { AGENT_VERSION } from "./version.js";

describe("AGENT_VERSION", () => {
  it("matches runner-agent/package.json", () => {
    const { version } = JSON.parse(readFileSync(new URL("../package.json", import.meta.url), "utf8")) as {
      version: string;
    };
    expect(AGENT_VERSION).toBe(version);
  });
});
