import { execFile } from "node:child_process";
import { createServer } from "node:net";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";

const run = promisify(execFile);

/** The repository root: compose.yaml and images/control-plane/build.sh live there. */
export const REPO_ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** `docker compose` (v2) when its plugin is installed, else Debian's `docker-compose` (1.29). */
export async function findCompose(): Promise<string[]> {
  for (const command of [["docker", "compose"], ["docker-compose"]]) {
    try {
      await run(command[0]!, [...command.slice(1), "version"]);
      return command;
    } catch {
      // Not this one; try the next.
    }
  }
  throw new Error(
    "Neither `docker compose` nor `docker-compose` runs on this machine; install one with `bash .ci/provision-compose.sh`",
  );
}

/** Runs a command in the repository root and returns its stdout; a failure's message carries its stderr. */
export async function runInRepo(
  file: string,
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 150_000,
): Promise<string> {
  try {
    const { stdout } = await run(file, args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ...env },
      timeout: timeoutMs,
      maxBuffer: 16 * 1024 * 1024,
    });
    return stdout;
  } catch (error) {
    const failure = error as Error & { stderr?: string };
    throw new Error(`${file} ${args.join(" ")} failed: ${failure.message}\n${failure.stderr ?? ""}`, { cause: error });
  }
}

/** One compose project made of compose.yaml plus the test's override file. */
export class ComposeStack {
  constructor(
    private readonly command: string[],
    readonly project: string,
    private readonly overrideFile: string,
    private readonly env: Record<string, string>,
  ) {}

  run(args: string[]): Promise<string> {
    const [file, ...prefix] = this.command;
    return runInRepo(
      file!,
      [...prefix, "-p", this.project, "-f", "compose.yaml", "-f", this.overrideFile, ...args],
      this.env,
    );
  }

  async containerId(service: string): Promise<string> {
    const id = (await this.run(["ps", "-q", service])).trim();
    if (!id) throw new Error(`compose project "${this.project}" has no container for service "${service}"`);
    return id;
  }

  /** Stops and removes the project's containers, its named volumes and networks. */
  async down(): Promise<void> {
    await this.run(["down", "--volumes", "--remove-orphans", "--timeout", "20"]);
  }
}

/** A TCP port that was free on 127.0.0.1 a moment ago. */
export function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}
