import { spawn, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { docker } from "./docker-cleanup.js";
import { freePort } from "./free-port.js";
import { eventually } from "./runtime-fixture.js";

export const REGISTRY_BINARY = "/usr/bin/docker-registry";
/** bcrypt of "test-password" for user "devhatchery" (htpasswd -B): the registry only checks it. */
const HTPASSWD = "devhatchery:$2y$05$8VMcMVBqxwCL/NTytg4NMee4wNCpRx0p2SVxRg4BdST9XHZMRq0HK\n";

export { freePort };

/** Follows a build, push or pull stream of the engine; throws the first `error` line (the API answers 200 regardless). */
export async function follow(stream: NodeJS.ReadableStream): Promise<void> {
  let failure: string | undefined;
  await new Promise<void>((resolve, reject) =>
    docker.modem.followProgress(
      stream,
      (error: Error | null) => (error ? reject(error) : resolve()),
      (event: { error?: string }) => (failure ??= event.error),
    ),
  );
  if (failure) throw new Error(failure);
}

/** Builds `FROM scratch` with a random blob (a layer no other image shares) under `tag` and pushes it to its registry. */
export async function pushRandomImage(dir: string, tag: string, registry: string, bytes = 64 * 1024): Promise<string> {
  const context = join(dir, `context-${randomBytes(4).toString("hex")}`);
  await mkdir(context);
  try {
    await writeFile(join(context, "Dockerfile"), "FROM scratch\nCOPY blob /blob\n");
    await writeFile(join(context, "blob"), randomBytes(bytes));
    await follow(await docker.buildImage({ context, src: ["Dockerfile", "blob"] }, { t: tag }));
    await follow(await docker.getImage(tag).push({ authconfig: { serveraddress: registry } }));
    return (await docker.getImage(tag).inspect()).Id;
  } finally {
    await rm(context, { recursive: true, force: true });
  }
}

/** Distribution 2.8 (Debian's docker-registry) on a loopback port; Docker allows plain HTTP to 127.0.0.0/8. */
export class LocalRegistry {
  address = "";
  private process: ChildProcess | undefined;

  constructor(
    private readonly dir: string,
    private readonly name: string,
  ) {}

  async start(auth: boolean): Promise<void> {
    if (!existsSync(REGISTRY_BINARY))
      throw new Error(
        `${REGISTRY_BINARY} is missing: run .ci/provision-docker.sh (it installs Debian's docker-registry).`,
      );
    this.address = `127.0.0.1:${await freePort()}`;
    const config = join(this.dir, `${this.name}.yml`);
    const lines = [
      "version: 0.1",
      "log: { level: error }",
      `storage: { filesystem: { rootdirectory: ${join(this.dir, this.name)} } }`,
      `http: { addr: ${this.address} }`,
    ];
    if (auth) {
      await writeFile(join(this.dir, "htpasswd"), HTPASSWD);
      lines.push(`auth: { htpasswd: { realm: devhatchery-test, path: ${join(this.dir, "htpasswd")} } }`);
    }
    await writeFile(config, `${lines.join("\n")}\n`);
    this.process = spawn(REGISTRY_BINARY, ["serve", config], { stdio: "ignore" });
    await eventually(`the registry at ${this.address}`, async () => {
      const answer = await fetch(`http://${this.address}/v2/`).catch(() => undefined);
      return answer ? true : undefined;
    });
  }

  stop(): void {
    this.process?.kill();
  }
}
