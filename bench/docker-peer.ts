import { execFile } from "node:child_process";
import { promisify } from "node:util";
import type Docker from "dockerode";

const run = promisify(execFile);
/** The Docker CLI that matches the engine best: Debian's when present (see docs/benchmarks.md). */
export const DOCKER_CLI = process.env.DOCKER_CLI ?? "docker";

/** `docker exec` through the Engine API, as docker-exec based MCP servers do: create, start (attached), inspect. */
export async function dockerApiExec(container: Docker.Container, argv: string[]): Promise<number> {
  const exec = await container.exec({ Cmd: argv, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  await new Promise<void>((resolve, reject) => {
    stream.on("end", () => resolve());
    stream.on("error", reject);
    stream.resume();
  });
  return (await exec.inspect()).ExitCode ?? -1;
}

export async function dockerCliExec(containerId: string, argv: string[]): Promise<void> {
  await run(DOCKER_CLI, ["exec", containerId, ...argv]);
}

export async function dockerCp(from: string, to: string): Promise<void> {
  await run(DOCKER_CLI, ["cp", from, to], { maxBuffer: 1024 * 1024 });
}

/** `docker run -d ARGS…` through the CLI; resolves with the new container's id. */
export async function dockerRunDetached(args: string[]): Promise<string> {
  const { stdout } = await run(DOCKER_CLI, ["run", "-d", ...args]);
  return stdout.trim();
}
