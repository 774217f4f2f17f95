import { describe, expect, it } from "vitest";
import type { SpawnRequest } from "../runner.js";
import {
  MAX_ENV_VARS,
  PolicyDeniedError,
  spawnRequestHash,
  validateSpawnRequest,
  type SpawnPolicy,
} from "./spawn-request.js";

const POLICY: SpawnPolicy = {
  defaultImage: "ubuntu:24.04",
  limits: {
    defaults: { cpus: 2, memoryMb: 2048, pids: 4096 },
    max: { cpus: 4, memoryMb: 8192, pids: 16384 },
    maxRunnersPerPrincipal: 50,
    tmpfsMb: 1024,
  },
  profile: "default",
};

function rejection(request: SpawnRequest, policy: SpawnPolicy = POLICY): { code: string; message: string } {
  try {
    validateSpawnRequest(request, policy);
  } catch (error) {
    return { code: (error as { code: string }).code, message: (error as Error).message };
  }
  throw new Error("expected the request to be refused");
}

describe("validateSpawnRequest", () => {
  it("applies the operator's defaults to an empty request", () => {
    expect(validateSpawnRequest({}, POLICY)).toEqual({
      image: "ubuntu:24.04",
      mounts: [],
      workspaceKey: undefined,
      storage: "volume",
      alias: undefined,
      limits: { cpus: 2, memoryMb: 2048, pids: 4096 },
      network: true,
      env: {},
      profile: "default",
      idempotencyKey: undefined,
    });
  });

  it("keeps what the caller asked for within the limits", () => {
    const spawn = validateSpawnRequest(
      {
        image: "python:3.12",
        workspaceKey: "proj.1",
        alias: "build",
        cpus: 1.5,
        memoryMb: 8192,
        network: false,
        env: { FOO: "bar" },
        profile: "hardened",
      },
      POLICY,
    );
    expect(spawn).toMatchObject({
      image: "python:3.12",
      workspaceKey: "proj.1",
      alias: "build",
      limits: { cpus: 1.5, memoryMb: 8192, pids: 4096 },
      network: false,
      env: { FOO: "bar" },
      profile: "hardened",
    });
  });

  it("refuses limits above the operator's maximum as a policy denial naming the limit", () => {
    expect(rejection({ memoryMb: 16384 })).toEqual({
      code: "POLICY_DENIED",
      message: "memory_mb 16384 is above this server's maximum of 8192; ask for 8192 or less.",
    });
    expect(rejection({ cpus: 8 })).toEqual({
      code: "POLICY_DENIED",
      message: "cpus 8 is above this server's maximum of 4; ask for 4 or less.",
    });
    const error = (() => {
      try {
        return validateSpawnRequest({ cpus: 8 }, POLICY);
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(PolicyDeniedError);
    expect(error).toMatchObject({ what: "cpus", limit: 4 });
  });

  it("refuses nonsense limits as invalid arguments", () => {
    expect(rejection({ memoryMb: 16 })).toEqual({
      code: "INVALID_ARGUMENT",
      message: "memory_mb 16 is below the minimum of 64 (or not a whole number); ask for 64 or more.",
    });
    expect(rejection({ cpus: 0 })).toEqual({
      code: "INVALID_ARGUMENT",
      message: "cpus 0 is not a positive number of CPUs; ask for e.g. 1 or 1.5.",
    });
  });

  it("refuses the default profile when the operator requires hardened, and makes hardened the default", () => {
    const hardened = { ...POLICY, profile: "hardened" as const };
    expect(rejection({ profile: "default" }, hardened)).toEqual({
      code: "POLICY_DENIED",
      message:
        'profile "default" is not allowed: this server requires the "hardened" profile for every runner; omit profile or ask for "hardened".',
    });
    expect(validateSpawnRequest({}, hardened).profile).toBe("hardened");
  });

  it("refuses images outside the operator's allowed patterns as a policy denial naming them", () => {
    const restricted = { ...POLICY, allowedImages: ["ubuntu:*", "registry.example/team/*"] };
    expect(rejection({ image: "python:3.12" }, restricted)).toEqual({
      code: "POLICY_DENIED",
      message:
        'image "python:3.12" is not allowed on this server; use one matching "ubuntu:*", "registry.example/team/*", or omit image for the default "ubuntu:24.04".',
    });
    expect(validateSpawnRequest({ image: "registry.example/team/dev:1" }, restricted).image).toBe(
      "registry.example/team/dev:1",
    );
    expect(validateSpawnRequest({}, restricted).image).toBe("ubuntu:24.04");
    expect(validateSpawnRequest({ image: "python:3.12" }, POLICY).image).toBe("python:3.12");
  });

  it("explains why tmpfs and a workspace key do not go together", () => {
    expect(rejection({ storage: "tmpfs", workspaceKey: "proj" })).toEqual({
      code: "INVALID_ARGUMENT",
      message:
        'storage "tmpfs" cannot be combined with workspace_key "proj": a tmpfs /work is gone when the runner is removed, so there is no workspace to keep. ' +
        'Omit workspace_key for a throwaway runner, or use storage "volume" (the default) to keep /work under that key.',
    });
    expect(validateSpawnRequest({ storage: "tmpfs" }, POLICY).storage).toBe("tmpfs");
  });

  it("refuses aliases and keys that are malformed or look like runner ids", () => {
    expect(rejection({ alias: "has space" })).toEqual({
      code: "INVALID_ARGUMENT",
      message:
        'alias "has space" is not valid: use 1 to 63 letters, digits, ".", "_" or "-", starting with a letter or digit.',
    });
    expect(rejection({ workspaceKey: "r-0123456789ab" })).toEqual({
      code: "INVALID_ARGUMENT",
      message:
        'workspace_key "r-0123456789ab" looks like a runner id ("r-" and 12 hex digits); choose another workspace_key.',
    });
    expect(rejection({ alias: "-x" }).code).toBe("INVALID_ARGUMENT");
  });

  it("checks env names, the reserved prefix and the size bounds", () => {
    expect(rejection({ env: { "1ABC": "x" } })).toEqual({
      code: "INVALID_ARGUMENT",
      message: 'env name "1ABC" is not valid: use letters, digits and "_", not starting with a digit, e.g. "MY_VAR".',
    });
    expect(rejection({ env: { DEVHATCHERY_AGENT_TOKEN: "x" } })).toEqual({
      code: "INVALID_ARGUMENT",
      message:
        'env name "DEVHATCHERY_AGENT_TOKEN" is reserved: names starting with "DEVHATCHERY_" belong to the runner\'s agent; rename the variable.',
    });
    expect(rejection({ env: { devhatchery_x: "x" } }).code).toBe("INVALID_ARGUMENT");
    expect(rejection({ env: { BIG: "x".repeat(32 * 1024 + 1) } })).toEqual({
      code: "INVALID_ARGUMENT",
      message:
        'env value of "BIG" is 32769 bytes, more than the maximum of 32768; write it to a file in /work instead.',
    });
    const many = Object.fromEntries(Array.from({ length: MAX_ENV_VARS + 1 }, (_, index) => [`V${index}`, "1"]));
    expect(rejection({ env: many })).toEqual({
      code: "INVALID_ARGUMENT",
      message:
        "env has 65 variables, more than the maximum of 64; pass fewer (or write a file in /work and source it).",
    });
    expect(rejection({ env: { NUL: "a\0b" } }).code).toBe("INVALID_ARGUMENT");
  });

  it("refuses an idempotency key with spaces or beyond 128 characters", () => {
    expect(rejection({ idempotencyKey: "a b" })).toEqual({
      code: "INVALID_ARGUMENT",
      message:
        'idempotency_key "a b" is not valid: use 1 to 128 printable ASCII characters without spaces, e.g. a UUID.',
    });
    expect(rejection({ idempotencyKey: "k".repeat(129) }).code).toBe("INVALID_ARGUMENT");
  });
});

describe("spawnRequestHash", () => {
  const hash = (request: SpawnRequest): string => spawnRequestHash(validateSpawnRequest(request, POLICY));

  it("is equal for requests that mean the same, whatever the key or the order of env", () => {
    expect(hash({ idempotencyKey: "a" })).toBe(hash({ idempotencyKey: "b", storage: "volume", image: "ubuntu:24.04" }));
    expect(hash({ env: { A: "1", B: "2" } })).toBe(hash({ env: { B: "2", A: "1" } }));
  });

  it("differs when any argument differs", () => {
    const base = hash({});
    for (const request of [
      { image: "other:1" },
      { memoryMb: 1024 },
      { alias: "x" },
      { workspaceKey: "w" },
      { network: false },
      { env: { A: "1" } },
      { storage: "tmpfs" as const },
    ]) {
      expect(hash(request)).not.toBe(base);
    }
  });
});
