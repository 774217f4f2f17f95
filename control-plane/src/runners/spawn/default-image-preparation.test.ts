import { afterEach, describe, expect, it, vi } from "vitest";
import { ControlPlaneError } from "../../errors.js";
import { createLogger } from "../../log.js";
import type { ImageInfo } from "../../runtime/runner-images.js";
import { prepareDefaultImage } from "./default-image-preparation.js";

describe("prepareDefaultImage", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("fills the agent volume of an image without a baked agent, once, at start-up", async () => {
    const calls: string[] = [];
    const preparation = prepareDefaultImage(
      {
        images: {
          ensure: async (image): Promise<ImageInfo> => {
            calls.push(`image ${image}`);
            return { architecture: "amd64", agentVersion: undefined };
          },
          inspect: () => Promise.reject(new Error("only images.pull never inspects")),
        },
        agentVolumes: {
          ensure: async (architecture) => {
            calls.push(`volume ${architecture}`);
            return "devhatchery-agent-x";
          },
        },
      },
      "ubuntu:24.04",
      createLogger("silent"),
    );
    expect(preparation.isReady()).toBe(false);
    await preparation.firstAttempt;
    expect(preparation.isReady()).toBe(true);
    expect(calls).toEqual(["image ubuntu:24.04", "volume amd64"]);
  });

  it("retries a failure in the background and keeps its message for the log", async () => {
    vi.useFakeTimers();
    let attempts = 0;
    const preparation = prepareDefaultImage(
      {
        images: {
          ensure: async () => {
            attempts++;
            if (attempts === 1) throw new ControlPlaneError("DOCKER_UNAVAILABLE", "Docker is down");
            return { architecture: "amd64", agentVersion: "0.1.0" };
          },
          inspect: () => Promise.reject(new Error("only images.pull never inspects")),
        },
        agentVolumes: { ensure: () => Promise.reject(new Error("not needed for a baked agent")) },
      },
      "devhatchery/runner:latest",
      createLogger("silent"),
      "missing",
      1_000,
    );
    await preparation.firstAttempt;
    expect(preparation.isReady()).toBe(false);
    expect(preparation.failure()).toBe("Docker is down");
    await vi.advanceTimersByTimeAsync(1_000);
    expect(attempts).toBe(2);
    expect(preparation.isReady()).toBe(true);
    expect(preparation.failure()).toBeUndefined();
    preparation.stop();
  });

  it("never pulls with images.pull never: a missing default image is a failure that names the fix", async () => {
    const preparation = prepareDefaultImage(
      {
        images: {
          ensure: () => Promise.reject(new Error("must not pull")),
          inspect: async () => undefined,
        },
        agentVolumes: { ensure: () => Promise.reject(new Error("not reached")) },
      },
      "ubuntu:24.04",
      createLogger("silent"),
      "never",
    );
    await preparation.firstAttempt;
    preparation.stop();
    expect(preparation.isReady()).toBe(false);
    expect(preparation.failure()).toBe(
      'The default image "ubuntu:24.04" is not on the Docker host and images.pull is "never"; build or load it there, or change images.default.',
    );
  });
});
