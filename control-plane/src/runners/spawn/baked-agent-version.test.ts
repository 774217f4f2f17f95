import { describe, expect, it } from "vitest";
import { bakedAgentVersionWarning } from "./baked-agent-version.js";

describe("a baked agent of another version", () => {
  it("is silent when the image carries this control plane's agent version", () => {
    expect(bakedAgentVersionWarning("acme/runner:1", "0.2.0", "0.2.0")).toBeUndefined();
  });

  it("names the image, both versions and how to rebuild or inject", () => {
    expect(bakedAgentVersionWarning("acme/runner:1", "0.1.0", "0.2.0")).toBe(
      'Image "acme/runner:1" carries agent 0.1.0 baked in, but this control plane ships agent 0.2.0; its runners work with what both understand ' +
        "and miss the newer agent's changes. Rebuild the image with the current agent (devhatchery images build --base <your base image> " +
        "--tag acme/runner:1, or COPY --from=devhatchery/agent:0.2.0 /opt/devhatchery /opt/devhatchery with LABEL io.devhatchery.agent.version=0.2.0), " +
        "or drop that label to have the current agent injected.",
    );
  });
});
