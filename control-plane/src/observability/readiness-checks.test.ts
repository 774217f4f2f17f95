import { describe, expect, it } from "vitest";
import { createReadinessChecks } from "./readiness-checks.js";

const unreachable = (): Promise<never> => Promise.reject(new Error("the engine is not reachable"));

describe("createReadinessChecks", () => {
  it("tells how to make the default image available, offline too", () => {
    const checks = createReadinessChecks({
      runtime: { ping: unreachable, ensureImage: unreachable, ensureAgentVolume: unreachable },
      defaultImage: "ubuntu:24.04",
      dockerHost: undefined,
    });
    expect(checks.find((check) => check.name === "agent")?.hint).toBe(
      'Make the default image "ubuntu:24.04" available (pull it) or set DEVHATCHERY_DEFAULT_IMAGE to a local image. ' +
        "Without a registry, build one from local images: `devhatchery images build --base <local image> --node-source <local Node image>` " +
        '(docs/operators.md, "No registry (offline)").',
    );
  });
});
