import type { Readable } from "node:stream";
import { AGENT_ENV } from "@devhatchery/proto/contract";

/** A token line longer than this is not a token: stop reading rather than buffer whatever arrives. */
const MAX_TOKEN_LINE_BYTES = 1024;
export const STDIN_TOKEN_TIMEOUT_MS = 60_000;

/**
 * The runner token, read from the first line of `input` (the control plane writes it on the agent's stdin at every
 * start, so that it is in no container config, snapshot or child environment). Stdin is destroyed afterwards and
 * never read again.
 */
export function readStdinToken(input: Readable, timeoutMs = STDIN_TOKEN_TIMEOUT_MS): Promise<string> {
  return new Promise((resolve, reject) => {
    let received = Buffer.alloc(0);
    const finish = (error: Error | undefined, token?: string): void => {
      clearTimeout(timer);
      input.off("data", onData);
      input.off("end", onEnd);
      input.off("error", onError);
      input.destroy();
      if (error) reject(error);
      else resolve(token!);
    };
    const onData = (data: Buffer): void => {
      received = Buffer.concat([received, data]);
      const newline = received.indexOf(0x0a);
      if (newline >= 0) return finish(undefined, received.subarray(0, newline).toString("utf8").trim());
      if (received.length > MAX_TOKEN_LINE_BYTES)
        finish(
          new Error(
            `The runner token on stdin is longer than ${MAX_TOKEN_LINE_BYTES} bytes without a newline; it is not a token.`,
          ),
        );
    };
    const onEnd = (): void =>
      finish(
        new Error(
          `${AGENT_ENV.token} is not set and stdin ended before a token line: start the runner through the control plane, which writes the token there.`,
        ),
      );
    const onError = (error: Error): void =>
      finish(new Error(`Cannot read the runner token from stdin: ${error.message}`));
    const timer = setTimeout(
      () =>
        finish(
          new Error(
            `${AGENT_ENV.token} is not set and no token line arrived on stdin within ${timeoutMs / 1000} s: start the runner through the control plane, which writes the token there.`,
          ),
        ),
      timeoutMs,
    );
    input.on("data", onData);
    input.once("end", onEnd);
    input.once("error", onError);
  });
}
