import { describe, expect, it } from "vitest";
import { createReadinessChecks } from "./readiness-checks.js";

describe("createReadinessChecks", () => {
  it("only observes: the agent check reads the start-up preparation's state and never pulls or fills a volume", async () => {
    let prepared = false;
    const checks = createReadinessChecks({
      runtime: { engine: { ping: () => Promise.resolve() } },
      defaultImage: "ubuntu:24.04",
      dockerHost: undefined,
      agent: { isReady: () => prepared, failure: () => (prepared ? undefined : "the image is being pulled") },
    });
    const agent = checks.find((check) => check.name === "agent")!;
    await expect(agent.check()).rejects.toThrow("the image is being pulled");
    prepared = true;
    await expect(agent.check()).resolves.toBeUndefined();
  });

  it("tells the operator (in the log) how to make the default image available, offline too", () => {
    const checks = createReadinessChecks({
      runtime: { engine: { ping: () => Promise.reject(new Error("the engine is not reachable")) } },
      defaultImage: "ubuntu:24.04",
      dockerHost: undefined,
      agent: { isReady: () => false, failure: () => undefined },
    });
    expect(checks.find((check) => check.name === "agent")?.hint).toBe(
      'Make the default image "ubuntu:24.04" available (pull it) or set DEVHATCHERY_DEFAULT_IMAGE to a local image. ' +
        "Without a registry, build one from local images: `devhatchery images build --base <local image> --node-source <local Node image>` " +
        '(docs/operators.md, "No registry (offline)").',
    );
  });
});
