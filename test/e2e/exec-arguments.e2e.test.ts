import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  fails,
  ok,
  startRunnersControlPlane,
  testIdentities,
  type RunnersControlPlane,
} from "../support/runners-fixture.js";

/** Debian without the agent: the control plane injects the current one. */
const INJECTED_IMAGE = "devhatchery-test/debian:bookworm";

describe("exec with arguments execve cannot take: INVALID_ARGUMENT naming the limit, through the control plane", () => {
  const { principals, network, env } = testIdentities("execargs", ["alice"]);
  let plane: RunnersControlPlane;
  let client: Client;

  beforeAll(async () => {
    plane = await startRunnersControlPlane(principals, network, env);
    client = plane.clients[0] as Client;
    await ok(client, "runner_spawn", { alias: "args", image: INJECTED_IMAGE, storage: "tmpfs" });
  });
  afterAll(async () => {
    await plane?.close();
  });

  it.each([
    [
      "a NUL byte in the command",
      { command: "echo a\0b" },
      'Error INVALID_ARGUMENT: Argument 2 of the command ("echo a\\0b") contains a NUL byte at offset 6;',
    ],
    [
      "a NUL byte in an environment value",
      { command: "true", env: { NAME: "a\0b" } },
      'Error INVALID_ARGUMENT: Environment variable "NAME" contains a NUL byte at offset 6;',
    ],
    [
      "an argument over 128 KiB",
      { command: `echo ${"x".repeat(140_000)}` },
      "is 140006 bytes, over the kernel's limit of 131072 bytes per argument or environment entry (MAX_ARG_STRLEN)",
    ],
  ])("refuses %s", async (_name, args, message) => {
    expect(await fails(client, "exec", { runner: "args", ...args })).toContain(message);
  });
});
