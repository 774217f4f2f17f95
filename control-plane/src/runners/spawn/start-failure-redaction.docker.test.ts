import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildTestImage } from "../../../test/build-test-image.js";
import { countRunners, docker } from "../../../test/docker-cleanup.js";
import {
  createRunnerServiceFixture,
  DEBIAN_IMAGE,
  type RunnerServiceFixture,
} from "../../../test/runner-service-fixture.js";

const HEX_KEY = "0123456789abcdef0123456789abcdef";
const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";

describe("a runner whose agent fails at start-up with secrets in its last log lines", () => {
  let fx: RunnerServiceFixture;
  let image: string;

  beforeAll(async () => {
    fx = await createRunnerServiceFixture();
    image = `devhatchery-test/leaky-agent:${fx.suffix}`;
    // Claims a baked agent (so none is injected) and prints secrets the way a crashing program might, then exits.
    const script = `echo "connecting with DEVHATCHERY_AGENT_TOKEN=${HEX_KEY}" >&2; echo "Authorization: Bearer ${JWT}" >&2; echo "fatal: password=hunter2" >&2; exit 3`;
    await buildTestImage({
      tag: image,
      context: {
        dockerfile: `FROM ${DEBIAN_IMAGE}\nLABEL io.devhatchery.agent.version="impostor"\nCMD ${JSON.stringify(["sh", "-c", script])}\n`,
      },
    });
  });
  afterAll(async () => {
    await fx?.cleanup();
    if (image)
      await docker
        .getImage(image)
        .remove({ force: true })
        .catch(() => undefined);
  });

  it("quotes the last agent log lines redacted in RUNNER_START_FAILED and in the failed spawn's error", async () => {
    const alice = fx.principal("alice");
    const before = await countRunners(alice.id);
    const error = await fx.runners.spawn(alice, { image, alias: "leaky" }).catch((e: unknown) => e);
    const message =
      `Runner from image "${image}" did not become ready and was removed: the agent exited (container exited, exit code 3)\nLast agent log lines:\n` +
      "connecting with DEVHATCHERY_AGENT_TOKEN=[redacted]\nAuthorization: Bearer [redacted]\nfatal: password=[redacted]";
    expect(error).toMatchObject({ code: "RUNNER_START_FAILED", message });
    await expect(fx.runners.get(alice, "leaky")).resolves.toMatchObject({ status: "failed", error: message });
    expect(await countRunners(alice.id)).toBe(before);
  });
});
