import { status } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startExecAgent, startProcess, type ExecAgent } from "../../test/agent-harness.js";
import { assertSpawnable, MAX_ARG_STRLEN } from "./spawn-arguments.js";

describe("ExecService refuses what execve cannot take, with INVALID_ARGUMENT and the limit", () => {
  let agent: ExecAgent;
  beforeAll(async () => {
    agent = await startExecAgent();
  });
  afterAll(() => agent.close());

  const over = "x".repeat(MAX_ARG_STRLEN);

  it.each([
    [
      "a NUL byte in an argument",
      { argv: ["printf", "a\0b"] },
      'Argument 1 of the command ("a\\0b") contains a NUL byte at offset 1; arguments and environment values are C strings and cannot hold one: remove it, or pass binary data on stdin.',
    ],
    [
      "a NUL byte in a shell command",
      { shell: "echo a\0b" },
      'Argument 2 of the command ("echo a\\0b") contains a NUL byte at offset 6;',
    ],
    [
      "a NUL byte in an environment value",
      { argv: ["true"], env: { SECRET_FREE: "a\0b" } },
      'Environment variable "SECRET_FREE" contains a NUL byte at offset 13;',
    ],
    [
      "an argument over MAX_ARG_STRLEN",
      { argv: ["printf", over] },
      `Argument 1 of the command ("${"x".repeat(39)}…") is ${MAX_ARG_STRLEN + 1} bytes, over the kernel's limit of ${MAX_ARG_STRLEN} bytes per argument or environment entry (MAX_ARG_STRLEN)`,
    ],
    [
      "an environment entry over MAX_ARG_STRLEN",
      { argv: ["true"], env: { BIG: over } },
      `Environment variable "BIG" is ${MAX_ARG_STRLEN + 5} bytes, over the kernel's limit`,
    ],
  ])("refuses %s", async (_name, request, message) => {
    const error = await startProcess(agent.exec, request).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toMatchObject({ code: status.INVALID_ARGUMENT });
    expect((error as { details: string }).details).toContain(message);
  });

  it("refuses arguments that fit one by one but not together, naming the total and ARG_MAX", async () => {
    const argv = ["true", ...Array.from({ length: 60 }, () => "y".repeat(MAX_ARG_STRLEN - 1))];
    const error = (await startProcess(agent.exec, { argv }).catch((caught: unknown) => caught)) as {
      code: number;
      details: string;
    };
    expect(error.code).toBe(status.INVALID_ARGUMENT);
    expect(error.details).toMatch(
      /^The command's arguments and environment take \d+ bytes, over the kernel's limit of \d+ bytes \(ARG_MAX\); pass large data on stdin/,
    );
  });

  it("accepts the largest argument the kernel takes", async () => {
    const started = await startProcess(agent.exec, { argv: ["true", "z".repeat(MAX_ARG_STRLEN - 1)] });
    expect(started.execId).toMatch(/^ex_/);
  });

  it("checks the total against the limit it is given", () => {
    expect(() => assertSpawnable(["true", "a".repeat(100)], {}, 100)).toThrow(
      "take 122 bytes, over the kernel's limit of 100 bytes (ARG_MAX)",
    );
  });
});
