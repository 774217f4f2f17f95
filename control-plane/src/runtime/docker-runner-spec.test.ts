import { describe, expect, it } from "vitest";
import type { RunnerContainerSpec } from "./runner-container-spec.js";
import { toRunnerCreateOptions } from "./docker-runner-spec.js";

const AGENT = { execOutputMb: 1024, tokenOnStdin: true };

const SPEC: RunnerContainerSpec = {
  runnerId: "r-0123456789ab",
  principal: "alice",
  image: "registry.example.com/tool:1",
  token: "t",
  agentPort: 7070,
  network: "devhatchery-runners",
  createdAt: "2026-12-07T00:00:00.000Z",
  agentVolume: undefined,
  storage: { kind: "tmpfs", sizeMb: 64 },
  limits: { cpus: 1, memoryMb: 256, pids: 128 },
};

describe("the image of a runner container", () => {
  it("is created from the checked image id, labelled with the name and the pinned digest", () => {
    const digest = `sha256:${"c".repeat(64)}`;
    const options = toRunnerCreateOptions(
      { ...SPEC, imageId: `sha256:${"d".repeat(64)}`, imageDigest: digest },
      true,
      AGENT,
    );
    expect(options.Image).toBe(`sha256:${"d".repeat(64)}`);
    expect(options.Labels).toMatchObject({ "io.devhatchery.image": SPEC.image, "io.devhatchery.image.digest": digest });
  });

  it("is the name, without a digest label, when nothing was pinned", () => {
    const options = toRunnerCreateOptions(SPEC, true, AGENT);
    expect(options.Image).toBe(SPEC.image);
    expect(options.Labels?.["io.devhatchery.image.digest"]).toBeUndefined();
  });
});

const TOKEN = "k".repeat(43);

function spec(overrides: Partial<RunnerContainerSpec> = {}): RunnerContainerSpec {
  return {
    runnerId: "r-000000000001",
    principal: "alice",
    image: "img",
    token: TOKEN,
    agentPort: 7070,
    network: "net",
    createdAt: "2026-12-07T00:00:00.000Z",
    agentVolume: undefined,
    storage: { kind: "tmpfs", sizeMb: 1024 },
    limits: { cpus: 1, memoryMb: 256, pids: 100 },
    ...overrides,
  };
}

const onStdin = { execOutputMb: 512, tokenOnStdin: true };

describe("toRunnerCreateOptions", () => {
  it("puts no token in the config when the agent reads it on stdin, and keeps stdin open for the one delivery", () => {
    const options = toRunnerCreateOptions(spec(), true, onStdin);
    expect(JSON.stringify(options)).not.toContain(TOKEN);
    expect(options.Env?.slice(0, 3)).toEqual([
      "DEVHATCHERY_AGENT_TOKEN=",
      "DEVHATCHERY_AGENT_PORT=7070",
      "DEVHATCHERY_AGENT_EXEC_OUTPUT_MB=512",
    ]);
    expect(options).toMatchObject({ OpenStdin: true, StdinOnce: true });
  });

  it("puts the token in Env only for an image baked with an agent that cannot read stdin", () => {
    const options = toRunnerCreateOptions(spec(), true, { ...onStdin, tokenOnStdin: false });
    expect(options.Env?.[0]).toBe(`DEVHATCHERY_AGENT_TOKEN=${TOKEN}`);
    expect(options.OpenStdin).toBeUndefined();
  });

  it("sizes every tmpfs within the memory limit minus the agent's 96 MiB", () => {
    const tmpfs = (overrides: Partial<RunnerContainerSpec>) =>
      toRunnerCreateOptions(spec(overrides), true, onStdin).HostConfig?.Tmpfs;
    expect(tmpfs({})).toEqual({ "/work": "rw,exec,nosuid,nodev,size=160m,mode=1777" });
    expect(tmpfs({ storage: { kind: "tmpfs", sizeMb: 64 } })).toEqual({
      "/work": "rw,exec,nosuid,nodev,size=64m,mode=1777",
    });
    expect(tmpfs({ hardened: true })).toEqual({
      "/tmp": "rw,exec,nosuid,nodev,size=40m,mode=1777",
      "/var/tmp": "rw,exec,nosuid,nodev,size=40m,mode=1777",
      "/work": "rw,exec,nosuid,nodev,size=80m,mode=0755,uid=1000,gid=1000",
    });
    expect(tmpfs({ hardened: true, storage: { kind: "volume", volume: "v" } })).toEqual({
      "/tmp": "rw,exec,nosuid,nodev,size=80m,mode=1777",
      "/var/tmp": "rw,exec,nosuid,nodev,size=80m,mode=1777",
    });
  });

  it("gives default-profile runners an anonymous volume for the agent's spill files, and hardened ones none", () => {
    const spill = (hardened: boolean) =>
      toRunnerCreateOptions(spec({ hardened }), true, onStdin).HostConfig?.Mounts?.filter(
        (mount) => mount.Target === "/var/tmp/devhatchery-agent",
      );
    expect(spill(false)).toEqual([{ Type: "volume", Target: "/var/tmp/devhatchery-agent", ReadOnly: false }]);
    expect(spill(true)).toEqual([]);
  });
});
