import { randomBytes } from "node:crypto";
import { afterAll, describe, expect, it } from "vitest";
import { docker } from "../../control-plane/test/docker-cleanup.js";
import { runDevhatchery } from "./cli-process.js";

const suffix = randomBytes(4).toString("hex");
const runnerTag = `devhatchery-test/cli-runner:${suffix}`;
const agentTag = `devhatchery-test/cli-agent:${suffix}`;

// Removing the tags also removes the layers only these images used; layers shared with the offline test images stay.
afterAll(async () => {
  for (const tag of [runnerTag, agentTag])
    await docker
      .getImage(tag)
      .remove()
      .catch(() => undefined);
});

describe("devhatchery images build", () => {
  it("builds the runner image from the offline base with the agent baked in, showing each step", async () => {
    const result = await runDevhatchery(
      [
        "images",
        "build",
        "--tag",
        runnerTag,
        "--agent-tag",
        agentTag,
        "--base",
        "devhatchery-test/debian:bookworm",
        "--node-source",
        "devhatchery-test/node:24.21.0",
      ],
      {},
      150_000,
    );
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const lines = result.stdout.split("\n");
    expect(lines[0]).toBe(`  agent layer ${agentTag} (node from devhatchery-test/node:24.21.0)`);
    expect(lines).toContain("  Step 1/9 : ARG NODE_IMAGE=node:24.21.0-bookworm-slim");
    expect(lines).toContain(`  runner ${runnerTag} (base devhatchery-test/debian:bookworm)`);
    expect(lines.at(-2)).toMatch(
      new RegExp(
        `^Built ${runnerTag} \\(sha256:[0-9a-f]{64}\\)\\. Use it with images.default: ${runnerTag} \\(or DEVHATCHERY_DEFAULT_IMAGE\\)\\.$`,
      ),
    );
    const labels = (await docker.getImage(runnerTag).inspect()).Config.Labels ?? {};
    expect(labels).toMatchObject({ "io.devhatchery.component": "runner", "io.devhatchery.agent.version": "0.1.0" });
  });

  it("says which subcommand it expects", async () => {
    expect(await runDevhatchery(["images"])).toEqual({
      code: 1,
      stdout: "",
      stderr: 'devhatchery images: expected the subcommand "build", got none; run `devhatchery images --help`.\n',
    });
  });
});
