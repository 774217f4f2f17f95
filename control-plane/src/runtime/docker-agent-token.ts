import type { Duplex } from "node:stream";
import type Docker from "dockerode";
import { AGENT_ENV } from "@devhatchery/proto/contract";

/** How long the stdin connection may stay open after the token was written, should the engine not close it. */
const STDIN_CLOSE_MS = 60_000;

/**
 * Starts a runner container and hands its agent the token on stdin: attach stdin before the start, write the token
 * and a newline, close (the container was created with OpenStdin and StdinOnce, so the agent then reads end of file).
 * Docker's init passes stdin on to the agent; every start needs a new delivery, as stdin is a new pipe each time.
 */
export async function deliverAgentToken(container: Docker.Container, token: string): Promise<void> {
  // With hijack the engine hands over the raw connection: a socket, whatever dockerode's typings say.
  const stdin = (await container.attach({
    stream: true,
    stdin: true,
    stdout: false,
    stderr: false,
    hijack: true,
  })) as unknown as Duplex;
  // The connection carries nothing back; errors after the token was written only mean the engine closed it.
  stdin.on("error", () => undefined);
  stdin.resume();
  try {
    await container.start();
  } catch (error) {
    stdin.destroy();
    throw error;
  }
  const closer = setTimeout(() => stdin.destroy(), STDIN_CLOSE_MS).unref();
  stdin.once("close", () => clearTimeout(closer));
  stdin.once("end", () => stdin.destroy());
  stdin.end(`${token}\n`);
}

/** The token a runner created by an older version carries in Env (empty for current runners, whose agent reads stdin). */
export function legacyEnvToken(info: Docker.ContainerInspectInfo): string | undefined {
  const entry = (info.Config.Env ?? []).find((candidate) => candidate.startsWith(`${AGENT_ENV.token}=`));
  return entry?.slice(AGENT_ENV.token.length + 1) || undefined;
}
