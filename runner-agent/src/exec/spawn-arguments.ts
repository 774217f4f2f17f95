import { readFileSync } from "node:fs";
import { AgentError } from "../errors.js";

/** The kernel's limit on one argument or one NAME=value entry, its terminating NUL included (MAX_ARG_STRLEN). */
export const MAX_ARG_STRLEN = 32 * 4096;
/** The kernel's cap on argv plus environment, whatever the stack limit: 3/4 of _STK_LIM (8 MiB). */
const STACK_CAP_BYTES = 6 * 1024 * 1024;
const DEFAULT_STACK_BYTES = 8 * 1024 * 1024;
const POINTER_BYTES = 8;

/**
 * Checks what execve(2) would refuse, before the process is started, so the caller learns which argument or variable
 * is wrong: NUL bytes (arguments and variables are C strings) and sizes over the kernel's limits (E2BIG).
 */
export function assertSpawnable(
  argv: readonly string[],
  env: Readonly<Record<string, string>>,
  argLimitBytes = argumentSpaceBytes(),
): void {
  argv.forEach((arg, index) => assertString(arg, `Argument ${index} of the command ("${preview(arg)}")`));
  for (const [name, value] of Object.entries(env))
    assertString(`${name}=${value}`, `Environment variable "${preview(name)}"`);
  const entries = [...argv, ...Object.entries(env).map(([name, value]) => `${name}=${value}`)];
  const total = entries.reduce((sum, entry) => sum + Buffer.byteLength(entry) + 1 + POINTER_BYTES, 0);
  if (total > argLimitBytes) {
    throw new AgentError(
      "INVALID_ARGUMENT",
      `The command's arguments and environment take ${total} bytes, over the kernel's limit of ${argLimitBytes} bytes (ARG_MAX); ` +
        "pass large data on stdin or in a file (fs_write) instead.",
    );
  }
}

/** The E2BIG a launch failed with, as INVALID_ARGUMENT (for limits the pre-check could not see). */
export function argumentsTooLong(program: string, cause: unknown): AgentError {
  return new AgentError(
    "INVALID_ARGUMENT",
    `Cannot start "${preview(program)}": its arguments and environment are too long for the kernel (E2BIG; at most ${MAX_ARG_STRLEN} bytes ` +
      `each and ${argumentSpaceBytes()} bytes in all); pass large data on stdin or in a file (fs_write) instead.`,
    { cause },
  );
}

function assertString(value: string, what: string): void {
  const nul = value.indexOf("\0");
  if (nul >= 0) {
    throw new AgentError(
      "INVALID_ARGUMENT",
      `${what} contains a NUL byte at offset ${nul}; arguments and environment values are C strings and cannot hold one: remove it, or pass binary data on stdin.`,
    );
  }
  const bytes = Buffer.byteLength(value) + 1;
  if (bytes > MAX_ARG_STRLEN) {
    throw new AgentError(
      "INVALID_ARGUMENT",
      `${what} is ${bytes} bytes, over the kernel's limit of ${MAX_ARG_STRLEN} bytes per argument or environment entry (MAX_ARG_STRLEN); ` +
        "pass large data on stdin or in a file (fs_write) instead.",
    );
  }
}

/** What execve allows for argv and environment together: a quarter of the stack limit, at most 6 MiB. */
let argumentSpace: number | undefined;

function argumentSpaceBytes(): number {
  argumentSpace ??= readArgumentSpaceBytes();
  return argumentSpace;
}

function readArgumentSpaceBytes(): number {
  let stack = DEFAULT_STACK_BYTES;
  try {
    const soft = /^Max stack size\s+(\d+|unlimited)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1];
    if (soft === "unlimited") stack = Number.MAX_SAFE_INTEGER;
    else if (soft) stack = Number(soft);
  } catch {
    // No /proc: assume the usual 8 MiB stack.
  }
  return Math.min(Math.floor(stack / 4), STACK_CAP_BYTES);
}

function preview(value: string): string {
  const clean = value.replaceAll("\0", "\\0");
  return clean.length > 40 ? `${clean.slice(0, 39)}…` : clean;
}
