import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import { randomInt } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../test/docker-cleanup.js";
import { canConnect, createRuntimeFixture, type RuntimeFixture } from "../../test/runtime-fixture.js";

const LISTEN_PORT = 8080;

/** From inside a runner: exit 0 when a TCP connection to host:port opens within 3 s. */
function probe(host: string, port: number): string[] {
  return ["timeout", "3", "bash", "-c", `echo > /dev/tcp/${host}/${port}`];
}

/**
 * A destination beyond the Docker host, made by the test: a network namespace behind a veth pair, reached through
 * the host's routing (forwarded, like any address outside the machine), with a TCP listener inside.
 */
class OutsideHost {
  readonly address: string;
  private readonly subnet: string;
  private readonly namespace: string;
  private readonly veth: string;
  private listener: ChildProcess | undefined;

  constructor(suffix: string) {
    const subnet = `10.231.${randomInt(0, 256)}`;
    this.address = `${subnet}.2`;
    this.namespace = `devhatchery-test-${suffix}`;
    this.veth = `dhv${suffix.slice(0, 8)}`;
    this.subnet = subnet;
  }

  async start(): Promise<void> {
    const ip = (...args: string[]): void => void execFileSync("ip", args, { stdio: "pipe" });
    ip("netns", "add", this.namespace);
    ip("link", "add", this.veth, "type", "veth", "peer", "name", `${this.veth}p`);
    ip("link", "set", `${this.veth}p`, "netns", this.namespace);
    ip("addr", "add", `${this.subnet}.1/30`, "dev", this.veth);
    ip("link", "set", this.veth, "up");
    ip("netns", "exec", this.namespace, "ip", "addr", "add", `${this.address}/30`, "dev", `${this.veth}p`);
    ip("netns", "exec", this.namespace, "ip", "link", "set", `${this.veth}p`, "up");
    ip("netns", "exec", this.namespace, "ip", "route", "add", "default", "via", `${this.subnet}.1`);
    const script = `require("net").createServer((socket) => socket.end()).listen(${LISTEN_PORT}, "${this.address}", () => console.log("listening"))`;
    const listener = spawn("ip", ["netns", "exec", this.namespace, process.execPath, "-e", script], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    this.listener = listener;
    await new Promise<void>((resolve, reject) => {
      listener.stdout?.once("data", () => resolve());
      listener.once("exit", (code) =>
        reject(new Error(`the listener in namespace "${this.namespace}" exited with ${code}`)),
      );
    });
  }

  stop(): void {
    this.listener?.kill();
    execFileSync("ip", ["netns", "del", this.namespace], { stdio: "ignore" });
    // Deleting the namespace deletes the peer and with it this end; this is for a start that failed halfway.
    try {
      execFileSync("ip", ["link", "del", this.veth], { stdio: "ignore" });
    } catch {
      // already gone with the namespace
    }
  }
}

describe("runner networks: outbound access and isolation between runners", () => {
  let fixture: RuntimeFixture;
  let offline: string;
  let outside: OutsideHost;

  beforeAll(async () => {
    fixture = await createRuntimeFixture("net");
    offline = `${fixture.network}-offline`;
    fixture.networks.push(offline);
    outside = new OutsideHost(fixture.suffix);
    await outside.start();
  });
  afterAll(async () => {
    outside?.stop();
    await fixture?.cleanup();
  });

  it("creates the offline network internal, without inter-runner traffic, labelled; refuses to reuse a mismatching one", async () => {
    await fixture.runtime.networks.ensure(offline, { internal: true });
    await fixture.runtime.networks.ensure(offline, { internal: true });
    const info = (await docker.getNetwork(offline).inspect()) as {
      Internal: boolean;
      Options: Record<string, string>;
      Labels: Record<string, string>;
    };
    expect(info.Internal).toBe(true);
    expect(info.Options).toEqual({ "com.docker.network.bridge.enable_icc": "false" });
    expect(info.Labels).toEqual({
      "io.devhatchery.managed": "true",
      "io.devhatchery.kind": "network",
      "io.devhatchery.instance": "default",
    });
    await expect(fixture.runtime.networks.ensure(offline)).rejects.toMatchObject({
      code: "FAILED_PRECONDITION",
      message:
        `Network "${offline}" exists but is internal (no outbound access), while runners need it with outbound access; ` +
        `remove it (\`docker network rm ${offline}\`) or configure another runner network name.`,
    });
  });

  it("reaches beyond the Docker host from the default network but not from the offline one, whose agents the host still reaches", async () => {
    const online = await fixture.start();
    const cut = await fixture.start({ network: offline });
    expect(online.networkEnabled).toBe(true);
    expect(cut.networkEnabled).toBe(false);
    expect(
      (await docker.getContainer(`devhatchery-${cut.runnerId}`).inspect()).Config.Labels["io.devhatchery.network"],
    ).toBe("false");
    expect((await fixture.exec(online.runnerId, probe(outside.address, LISTEN_PORT))).exitCode).toBe(0);
    expect((await fixture.exec(cut.runnerId, probe(outside.address, LISTEN_PORT))).exitCode).not.toBe(0);
    expect(await canConnect(cut.address ?? "", 7070)).toBe(true);
  });

  it.each([
    ["default", false],
    ["offline", true],
  ])(
    "keeps runners on the %s network from reaching each other's agents, while the host reaches both",
    async (_name, internal) => {
      const network = internal ? offline : fixture.network;
      const a = await fixture.start({ network });
      const b = await fixture.start({ network });
      expect((await fixture.exec(a.runnerId, probe(a.address ?? "", 7070))).exitCode).toBe(0);
      expect((await fixture.exec(a.runnerId, probe(b.address ?? "", 7070))).exitCode).not.toBe(0);
      expect((await fixture.exec(b.runnerId, probe(a.address ?? "", 7070))).exitCode).not.toBe(0);
      expect(await canConnect(a.address ?? "", 7070)).toBe(true);
      expect(await canConnect(b.address ?? "", 7070)).toBe(true);
    },
  );
});
