import { execFile } from "node:child_process";
import { chmod, mkdir, mkdtemp, rename, rm, stat } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { ControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";

const run = promisify(execFile);

/** The Node runtime the injected agent runs on: pinned, and the same one the agent layer image carries. */
export const AGENT_NODE_VERSION = "24.21.0";

/** Node's names for the architectures the agent runtime exists for. */
export type NodeArch = "x64" | "arm64";

export interface NodeRuntimeCacheOptions {
  /** Downloads go to `<cacheDir>/agent-node/<version>-linux-<arch>/node`. */
  cacheDir: string;
  nodeVersion?: string;
  /** The npm executable; npm's own configuration (registry, proxy, auth) applies. */
  npmCommand?: string;
  /** Extra environment for npm, e.g. `npm_config_registry`. */
  npmEnv?: Record<string, string>;
}

const NPM_TIMEOUT_MS = 10 * 60_000;

/** Linux Node binaries taken from the npm registry packages `node-linux-<arch>` (never the host's Node), cached on disk. */
export class NodeRuntimeCache {
  private readonly pending = new Map<NodeArch, Promise<string>>();
  private readonly nodeVersion: string;

  constructor(
    private readonly options: NodeRuntimeCacheOptions,
    private readonly log: Logger,
  ) {
    this.nodeVersion = options.nodeVersion ?? AGENT_NODE_VERSION;
  }

  get version(): string {
    return this.nodeVersion;
  }

  binaryPath(arch: NodeArch): string {
    return join(this.options.cacheDir, "agent-node", `${this.nodeVersion}-linux-${arch}`, "node");
  }

  /** The path of the cached binary, fetched with `npm pack` first when it is not there yet. */
  async ensure(arch: NodeArch, onProgress: (status: string) => void = () => {}): Promise<string> {
    const path = this.binaryPath(arch);
    if (await isNonEmptyFile(path)) return path;
    let pending = this.pending.get(arch);
    if (!pending) {
      pending = this.fetch(arch, path, onProgress).finally(() => this.pending.delete(arch));
      this.pending.set(arch, pending);
    }
    return pending;
  }

  private async fetch(arch: NodeArch, path: string, onProgress: (status: string) => void): Promise<string> {
    const spec = `node-linux-${arch}@${this.nodeVersion}`;
    onProgress(`downloading the agent's Node runtime ${spec} from the npm registry`);
    this.log.info({ package: spec, cacheDir: this.options.cacheDir }, "fetching the agent's Node runtime");
    const downloads = join(this.options.cacheDir, "agent-node");
    await mkdir(downloads, { recursive: true });
    const work = await mkdtemp(join(downloads, ".download-"));
    try {
      const tarball = join(work, await this.pack(spec, work, path));
      await this.exec("tar", ["-xzf", tarball, "-C", work, "package/bin/node"], `unpack "${tarball}"`, path);
      await chmod(join(work, "package/bin/node"), 0o755);
      await mkdir(join(path, ".."), { recursive: true });
      // A rename is atomic: the cached path holds a whole binary or nothing, even with concurrent fetches.
      await rename(join(work, "package/bin/node"), path);
      onProgress(`the agent's Node runtime ${spec} is cached`);
      return path;
    } finally {
      await rm(work, { recursive: true, force: true });
    }
  }

  /** Runs `npm pack` into `dir` and returns the tarball's file name. */
  private async pack(spec: string, dir: string, path: string): Promise<string> {
    const stdout = await this.exec(
      this.options.npmCommand ?? "npm",
      ["pack", "--json", "--pack-destination", dir, spec],
      `run "npm pack ${spec}"`,
      path,
    );
    let parsed: unknown;
    try {
      parsed = JSON.parse(stdout);
    } catch {
      throw fetchFailed(`run "npm pack ${spec}"`, `npm printed no JSON: ${JSON.stringify(stdout.slice(0, 200))}`, path);
    }
    const filename = Array.isArray(parsed) ? (parsed[0] as { filename?: unknown } | undefined)?.filename : undefined;
    if (typeof filename !== "string")
      throw fetchFailed(`run "npm pack ${spec}"`, `npm did not name the tarball: ${stdout.slice(0, 200)}`, path);
    return filename;
  }

  private async exec(command: string, args: string[], what: string, path: string): Promise<string> {
    try {
      const { stdout } = await run(command, args, {
        env: { ...process.env, ...this.options.npmEnv },
        timeout: NPM_TIMEOUT_MS,
        maxBuffer: 16 * 1024 * 1024,
      });
      return stdout;
    } catch (error) {
      const failure = error as NodeJS.ErrnoException & { stdout?: string; stderr?: string; code?: string | number };
      if (failure.code === "ENOENT")
        throw fetchFailed(what, `"${command}" was not found on the control plane's PATH; install it`, path, error);
      throw fetchFailed(what, describeFailure(failure), path, error);
    }
  }
}

function describeFailure(failure: {
  message: string;
  stdout?: string;
  stderr?: string;
  code?: string | number;
}): string {
  try {
    const npmError = (JSON.parse(failure.stdout ?? "") as { error?: { code?: string; summary?: string } }).error;
    if (npmError?.summary) return `npm said ${npmError.code ?? "error"}: ${npmError.summary}`;
  } catch {
    // Not npm's JSON: fall back to the last line of stderr.
  }
  const lastLine = (failure.stderr ?? "").trim().split("\n").at(-1);
  return `exit code ${String(failure.code)}${lastLine ? `: ${lastLine}` : ""}`;
}

function fetchFailed(what: string, reason: string, path: string, cause?: unknown): ControlPlaneError {
  return new ControlPlaneError(
    "RUNNER_START_FAILED",
    `Cannot prepare the injected agent: could not ${what} (${reason}). Check that npm works and reaches its registry ` +
      `(\`npm config get registry\`), or place the Node binary at "${path}" yourself, or use an image with the agent baked in (images/README.md).`,
    { cause },
  );
}

async function isNonEmptyFile(path: string): Promise<boolean> {
  try {
    const info = await stat(path);
    return info.isFile() && info.size > 0;
  } catch {
    return false;
  }
}
