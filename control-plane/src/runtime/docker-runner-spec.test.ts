import { describe, expect, it } from "vitest";
import type { RunnerContainerSpec } from "./container-runtime.js";
import { toRunnerCreateOptions } from "./docker-runner-spec.js";

const SPEC: RunnerContainerSpec = {
  runnerId: "r-0123456789ab",
  principal: "alice",
  image: "registry.example.com/tool:1",
  token: "t",
  agentPort: 7070,
  network: "devhatchery-runners",
  createdAt: "2026-12-07T00:00:00.000Z",
  agentVolume: undefined,
  storage: { kind: "tmpfs", sizeMb: 64 },
  limits: { cpus: 1, memoryMb: 256, pids: 128 },
};

describe("the image of a runner container", () => {
  it("is created from the checked image id, labelled with the name and the pinned digest", () => {
    const digest = `sha256:${"c".repeat(64)}`;
    const options = toRunnerCreateOptions({ ...SPEC, imageId: `sha256:${"d".repeat(64)}`, imageDigest: digest }, true);
    expect(options.Image).toBe(`sha256:${"d".repeat(64)}`);
    expect(options.Labels).toMatchObject({ "io.devhatchery.image": SPEC.image, "io.devhatchery.image.digest": digest });
  });

  it("is the name, without a digest label, when nothing was pinned", () => {
    const options = toRunnerCreateOptions(SPEC, true);
    expect(options.Image).toBe(SPEC.image);
    expect(options.Labels?.["io.devhatchery.image.digest"]).toBeUndefined();
  });
});
