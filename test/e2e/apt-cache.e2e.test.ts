import { execFileSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../control-plane/test/docker-cleanup.js";
import { startRunnersControlPlane, type RunnersControlPlane } from "../support/runners-fixture.js";
import { ok, sh, testIdentities } from "../support/runners-fixture.js";

const PACKAGE = "devhatchery-cache-probe";
const DEB = `pool/main/d/${PACKAGE}/${PACKAGE}_1.0_all.deb`;

/**
 * A Debian repository of one package, built here with dpkg-deb and served on the runner network's gateway address
 * (the host side of the network the control plane made for this test), counting what it serves.
 */
function buildRepository(dir: string): void {
  const pkg = join(dir, "build");
  mkdirSync(join(pkg, "DEBIAN"), { recursive: true });
  mkdirSync(join(pkg, "usr/share", PACKAGE), { recursive: true });
  writeFileSync(join(pkg, "usr/share", PACKAGE, "payload"), randomBytes(512 * 1024));
  writeFileSync(
    join(pkg, "DEBIAN/control"),
    `Package: ${PACKAGE}\nVersion: 1.0\nArchitecture: all\nMaintainer: DevHatchery tests <tests@example.com>\nDescription: apt cache probe\n`,
  );
  const repo = join(dir, "repo");
  mkdirSync(join(repo, `pool/main/d/${PACKAGE}`), { recursive: true });
  execFileSync("dpkg-deb", ["--root-owner-group", "-Zgzip", "--build", pkg, join(repo, DEB)], { stdio: "ignore" });
  const deb = readFileSync(join(repo, DEB));
  const packages =
    `Package: ${PACKAGE}\nVersion: 1.0\nArchitecture: all\nMaintainer: DevHatchery tests <tests@example.com>\n` +
    `Filename: ${DEB}\nSize: ${deb.length}\nSHA256: ${createHash("sha256").update(deb).digest("hex")}\n` +
    "Description: apt cache probe\n\n";
  const sums: string[] = [];
  for (const arch of ["amd64", "arm64"]) {
    mkdirSync(join(repo, `dists/stable/main/binary-${arch}`), { recursive: true });
    writeFileSync(join(repo, `dists/stable/main/binary-${arch}/Packages`), packages);
    sums.push(
      ` ${createHash("sha256").update(packages).digest("hex")} ${Buffer.byteLength(packages)} main/binary-${arch}/Packages`,
    );
  }
  writeFileSync(
    join(repo, "dists/stable/Release"),
    `Suite: stable\nCodename: stable\nArchitectures: amd64 arm64\nComponents: main\nSHA256:\n${sums.join("\n")}\n`,
  );
}

function serveRepository(root: string, host: string, served: Map<string, number>): Promise<Server> {
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? "/", "http://repo").pathname).replace(/^\/repo\//, "");
    served.set(path, (served.get(path) ?? 0) + 1);
    try {
      if (path.includes("..")) throw new Error("no");
      const body = readFileSync(join(root, path));
      response.writeHead(200, { "content-length": body.length }).end(request.method === "HEAD" ? undefined : body);
    } catch {
      response.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, host, () => resolve(server)));
}

/** The cache's address as the runner's apt is told: the detect program DevHatchery wrote. */
async function cacheAddress(client: Client, runner: string): Promise<{ host: string; port: number }> {
  const script = await sh(client, runner, "cat /etc/apt/devhatchery-apt-proxy");
  const match = /echo http:\/\/([0-9.]+):(\d+)/.exec(script);
  expect(match, script).not.toBeNull();
  return { host: match![1]!, port: Number(match![2]) };
}

/** Installs the probe package from the test repository only (never the image's own sources); returns seconds. */
function installCommand(repoUrl: string): string {
  return [
    `echo "deb [trusted=yes] ${repoUrl} stable main" > /etc/apt/sources.list.d/probe.list`,
    "apt-get update -qq -o Dir::Etc::sourcelist=/etc/apt/sources.list.d/probe.list -o Dir::Etc::sourceparts=- -o APT::Get::List-Cleanup=0",
    `apt-get install -y -qq --no-install-recommends ${PACKAGE} >/dev/null`,
    `test -s /usr/share/${PACKAGE}/payload && echo installed`,
  ].join(" && ");
}

/** A raw proxy request from inside a runner (bash's /dev/tcp): the status line the cache answers. */
async function rawProxyRequest(
  client: Client,
  runner: string,
  cache: { host: string; port: number },
  target: string,
): Promise<string> {
  const script = `exec 3<>/dev/tcp/${cache.host}/${cache.port} && printf 'GET ${target} HTTP/1.0\\r\\n\\r\\n' >&3 && head -1 <&3`;
  const result = await ok(client, "exec", { runner, command: ["bash", "-c", script] });
  expect(result.exit_code, JSON.stringify(result)).toBe(0);
  return result.stdout as string;
}

/**
 * The apt cache: runners of two principals install the same package; the second is served from the control plane's
 * disk (the repository serves the file once), and the cache refuses to be a general proxy into the host.
 */
describe("apt cache", () => {
  const { principals, network, env } = testIdentities("apt", ["alice", "bob"]);
  let fixture: RunnersControlPlane;
  let repoServer: Server | undefined;
  let dir = "";
  const served = new Map<string, number>();

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "devhatchery-e2e-apt-"));
    buildRepository(dir);
    // Port 0: parallel test files each have their own network, and a real control plane may hold 3142.
    fixture = await startRunnersControlPlane(principals, network, { ...env, DEVHATCHERY_APT_CACHE_PORT: "0" });
  });
  afterAll(async () => {
    await fixture?.close();
    await new Promise((resolve) => (repoServer ? repoServer.close(resolve) : resolve(undefined)));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("serves a package fetched for one principal's runner to another's from its disk", async () => {
    const [alice, bob] = fixture.clients as [Client, Client];
    await ok(alice, "runner_spawn", { alias: "first", storage: "tmpfs" });
    const gateway = ((await docker.getNetwork(network).inspect()) as { IPAM: { Config: Array<{ Gateway: string }> } })
      .IPAM.Config[0]!.Gateway;
    repoServer = await serveRepository(join(dir, "repo"), gateway, served);
    const repoUrl = `http://${gateway}:${(repoServer.address() as AddressInfo).port}/repo`;

    const cache = await cacheAddress(alice, "first");
    expect(cache.host).toBe(gateway);
    expect(await sh(alice, "first", "cat /etc/apt/apt.conf.d/00devhatchery-apt-cache")).toContain(
      'Acquire::http::Proxy-Auto-Detect "/etc/apt/devhatchery-apt-proxy";',
    );
    expect(await sh(alice, "first", installCommand(repoUrl))).toBe("installed\n");
    expect(served.get(DEB)).toBe(1);

    await ok(bob, "runner_spawn", { alias: "second", storage: "tmpfs" });
    expect(await sh(bob, "second", installCommand(repoUrl))).toBe("installed\n");
    // The package file came from the cache: the repository served it once, for both runners.
    expect(served.get(DEB)).toBe(1);
    const metrics = await (await fetch(fixture.server.url.replace(/\/mcp$/, "/metrics"))).text();
    expect(metrics).toMatch(/devhatchery_apt_cache_requests_total\{result="hit"\} [1-9]/);
    expect(metrics).toMatch(/devhatchery_apt_cache_bytes_total\{source="cache"\} [1-9]/);
  });

  it("refuses to be a proxy for anything but repositories, and never reaches the host's loopback services", async () => {
    const [alice] = fixture.clients as [Client, Client];
    const cache = await cacheAddress(alice, "first");
    const controlPlanePort = new URL(fixture.server.url).port;
    const status = (target: string): Promise<string> => rawProxyRequest(alice, "first", cache, target);
    expect(await status("http://example.com/index.html")).toMatch(/^HTTP\/1\.1 403/);
    expect(await status(`http://127.0.0.1:${controlPlanePort}/pool/main/x/x.deb`)).toMatch(/^HTTP\/1\.1 403/);
    expect(await status("http://localhost:2375/dists/x/Release")).toMatch(/^HTTP\/1\.1 403/);
    expect(await status("http://169.254.169.254/dists/x/Release")).toMatch(/^HTTP\/1\.1 403/);
    expect(await status("https://deb.debian.org/dists/x/Release")).toMatch(/^HTTP\/1\.1 400/);
  });

  it("leaves runners without network and hardened runners alone", async () => {
    const [alice] = fixture.clients as [Client, Client];
    await ok(alice, "runner_spawn", { alias: "offline", storage: "tmpfs", network: false });
    await ok(alice, "runner_spawn", { alias: "hard", storage: "tmpfs", profile: "hardened" });
    for (const runner of ["offline", "hard"])
      expect(await sh(alice, runner, "test -e /etc/apt/devhatchery-apt-proxy && echo yes || echo no")).toBe("no\n");
  });
});
