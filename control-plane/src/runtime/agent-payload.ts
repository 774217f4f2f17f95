import { createHash } from "node:crypto";
import { readdir, readFile, stat } from "node:fs/promises";
import { dirname, join } from "node:path";
import type { Readable } from "node:stream";
import { ControlPlaneError } from "../errors.js";
import { LABEL, KIND } from "./labels.js";
import type { NodeArch, NodeRuntimeCache } from "./node-runtime-cache.js";
import { createTarArchive } from "./tar-archive.js";

/** Where runners see the agent, baked or injected, and how it is started. */
export const AGENT_MOUNT_PATH = "/opt/devhatchery";
export const AGENT_ENTRYPOINT = [`${AGENT_MOUNT_PATH}/bin/node`, `${AGENT_MOUNT_PATH}/agent.cjs`];

/** Written last into an agent volume: a volume without it is incomplete and gets rebuilt. */
export const AGENT_VOLUME_MARKER = ".devhatchery-agent-complete";

/** The agent bundle as it was read once: its version and content digest name the volume that holds it. */
export interface AgentSnapshot {
  version: string;
  /** 12 hex digits of sha256 over the bundle, its native addons and the Node version. */
  digest: string;
  bundle: Buffer;
  /** Native addons (`*.node`) shipped beside the bundle, by file name. */
  addons: Array<{ name: string; content: Buffer }>;
}

/** What goes into an agent volume: the agent bundle (from disk) and the pinned Node runtime for one architecture. */
export class AgentPayload {
  private cached: { signature: string; snapshot: AgentSnapshot } | undefined;

  constructor(
    private readonly bundlePath: string,
    private readonly version: string,
    private readonly nodeRuntimes: NodeRuntimeCache,
  ) {}

  /** Reads the bundle and the native addons beside it (again only when they changed on disk). */
  async snapshot(): Promise<AgentSnapshot> {
    const { addonNames, signature } = await this.inspectFiles();
    if (this.cached?.signature === signature) return this.cached.snapshot;
    const directory = dirname(this.bundlePath);
    const bundle = await readFile(this.bundlePath);
    const addons = await Promise.all(
      addonNames.map(async (name) => ({ name, content: await readFile(join(directory, name)) })),
    );
    const hash = createHash("sha256").update(bundle);
    for (const addon of addons) hash.update(`\0${addon.name}\0`).update(addon.content);
    const digest = hash.update(`\0node-${this.nodeRuntimes.version}`).digest("hex").slice(0, 12);
    const snapshot = { version: this.version, digest, bundle, addons };
    this.cached = { signature, snapshot };
    return snapshot;
  }

  /** The addons' names and a signature (paths, sizes, modification times) that changes whenever a file does. */
  private async inspectFiles(): Promise<{ addonNames: string[]; signature: string }> {
    const directory = dirname(this.bundlePath);
    try {
      const addonNames = (await readdir(directory)).filter((name) => name.endsWith(".node")).sort();
      const files = [this.bundlePath, ...addonNames.map((name) => join(directory, name))];
      const infos = await Promise.all(files.map((file) => stat(file)));
      return {
        addonNames,
        signature: infos.map((info, index) => `${files[index]}:${info.size}:${info.mtimeMs}`).join("|"),
      };
    } catch (error) {
      throw new ControlPlaneError(
        "RUNNER_START_FAILED",
        `Cannot prepare the injected agent: the agent bundle "${this.bundlePath}" is missing (${(error as NodeJS.ErrnoException).code}). ` +
          "Build it with `npm run build`, or set DEVHATCHERY_AGENT_BUNDLE to the path of agent.cjs.",
        { cause: error },
      );
    }
  }

  volumeName(snapshot: AgentSnapshot, arch: NodeArch): string {
    return `devhatchery-agent-${snapshot.version}-${snapshot.digest}-${arch}`;
  }

  volumeLabels(snapshot: AgentSnapshot, arch: NodeArch): Record<string, string> {
    return {
      [LABEL.managed]: "true",
      [LABEL.kind]: KIND.agent,
      [LABEL.agentVersion]: snapshot.version,
      [LABEL.agentDigest]: snapshot.digest,
      [LABEL.agentArch]: arch,
    };
  }

  /** Fetches the Node runtime if needed and returns a factory for the volume's content (bin/node, agent.cjs, addons). */
  async prepare(
    snapshot: AgentSnapshot,
    arch: NodeArch,
    onProgress: (status: string) => void,
  ): Promise<() => Readable> {
    const nodePath = await this.nodeRuntimes.ensure(arch, onProgress);
    const nodeSize = (await stat(nodePath)).size;
    return () =>
      createTarArchive([
        { type: "directory", path: "bin", mode: 0o755 },
        { type: "file", path: "bin/node", mode: 0o755, size: nodeSize, sourcePath: nodePath },
        { type: "file", path: "agent.cjs", mode: 0o644, content: snapshot.bundle },
        ...snapshot.addons.map((addon) => ({
          type: "file" as const,
          path: addon.name,
          mode: 0o644,
          content: addon.content,
        })),
      ]);
  }

  /** The completion marker, to be written after everything else. */
  marker(snapshot: AgentSnapshot, arch: NodeArch): Readable {
    const content = Buffer.from(
      `${JSON.stringify({ version: snapshot.version, digest: snapshot.digest, node: this.nodeRuntimes.version, arch })}\n`,
    );
    return createTarArchive([{ type: "file", path: AGENT_VOLUME_MARKER, mode: 0o644, content }]);
  }
}
