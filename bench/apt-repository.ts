import { execFile } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);
const MAINTAINER = "DevHatchery bench <bench@example.com>";

/** A Debian repository on this machine's disk: suite `stable`, component `main`, packages of Architecture all. */
export interface AptRepository {
  root: string;
  packages: string[];
  /** Each package's file, relative to the root (the path apt asks for under the repository's URL). */
  debs: string[];
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Builds a repository of `count` packages with dpkg-deb, each holding `payloadBytes` of random data (incompressible,
 * so the bytes on the wire are the payload), in a temporary folder removed on dispose. Unsigned: sources name it
 * `[trusted=yes]`.
 */
export async function buildAptRepository(count: number, payloadBytes: number): Promise<AptRepository> {
  const root = await mkdtemp(join(tmpdir(), "devhatchery-bench-apt-"));
  const dispose = (): Promise<void> => rm(root, { recursive: true, force: true });
  try {
    const packages = Array.from({ length: count }, (_, index) => `devhatchery-bench-probe-${index + 1}`);
    const stanzas: string[] = [];
    const debs: string[] = [];
    for (const name of packages) {
      const build = join(root, "build", name);
      await mkdir(join(build, "DEBIAN"), { recursive: true });
      await mkdir(join(build, "usr/share", name), { recursive: true });
      await writeFile(join(build, "usr/share", name, "payload"), randomBytes(payloadBytes));
      const control = `Package: ${name}\nVersion: 1.0\nArchitecture: all\nMaintainer: ${MAINTAINER}\nDescription: apt cache bench probe\n`;
      await writeFile(join(build, "DEBIAN/control"), control);
      const deb = `pool/main/d/${name}/${name}_1.0_all.deb`;
      await mkdir(join(root, "repo", `pool/main/d/${name}`), { recursive: true });
      await run("dpkg-deb", ["--root-owner-group", "-Zgzip", "--build", build, join(root, "repo", deb)]);
      const file = await readFile(join(root, "repo", deb));
      const sha256 = createHash("sha256").update(file).digest("hex");
      stanzas.push(
        control.replace("Description:", `Filename: ${deb}\nSize: ${file.length}\nSHA256: ${sha256}\nDescription:`),
      );
      debs.push(deb);
    }
    const index = stanzas.join("\n");
    const sums: string[] = [];
    for (const arch of ["amd64", "arm64"]) {
      await mkdir(join(root, "repo", `dists/stable/main/binary-${arch}`), { recursive: true });
      await writeFile(join(root, "repo", `dists/stable/main/binary-${arch}/Packages`), index);
      const sha256 = createHash("sha256").update(index).digest("hex");
      sums.push(` ${sha256} ${Buffer.byteLength(index)} main/binary-${arch}/Packages`);
    }
    await writeFile(
      join(root, "repo", "dists/stable/Release"),
      `Suite: stable\nCodename: stable\nArchitectures: amd64 arm64\nComponents: main\nSHA256:\n${sums.join("\n")}\n`,
    );
    await rm(join(root, "build"), { recursive: true, force: true });
    return { root: join(root, "repo"), packages, debs, [Symbol.asyncDispose]: dispose };
  } catch (error) {
    await dispose();
    throw error;
  }
}

/** A repository served over HTTP, counting the requests for each path. */
export interface AptRepositoryServer {
  /** The repository's URL, for a sources list: http://<host>:<port>/repo */
  url: string;
  /** How many times `path` (relative to the repository's root) was asked for. */
  served(path: string): number;
  [Symbol.asyncDispose](): Promise<void>;
}

/** Serves `repository` on `host` (a runner network's gateway address: the host side of that network), any free port. */
export async function serveAptRepository(repository: AptRepository, host: string): Promise<AptRepositoryServer> {
  const served = new Map<string, number>();
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://repo").pathname).replace(/^\/repo\//, "");
    served.set(path, (served.get(path) ?? 0) + 1);
    if (path.split("/").includes("..")) return void response.writeHead(404).end();
    readFile(join(repository.root, path)).then(
      (body) =>
        response.writeHead(200, { "content-length": body.length }).end(request.method === "HEAD" ? undefined : body),
      () => response.writeHead(404).end(),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, host, () => resolve());
  });
  return {
    url: `http://${host}:${(server.address() as AddressInfo).port}/repo`,
    served: (path) => served.get(path) ?? 0,
    [Symbol.asyncDispose]: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
