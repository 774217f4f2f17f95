import { tmpdir } from "node:os";
import { describe, expect, it } from "vitest";
import { createLogger } from "../log.js";
import { mapRuntimeRoles, RUNTIME_ROLES } from "./container-runtime.js";
import { DockerRuntime } from "./docker-runtime.js";

// Constructing a DockerRuntime connects to nothing: the client dials on the first call.
const docker = new DockerRuntime(createLogger("silent"), "tcp://127.0.0.1:9", {
  bundlePath: "/nonexistent/agent.cjs",
  cacheDir: tmpdir(),
});

describe("runtime roles", () => {
  it("names every role the Docker runtime has, and nothing else", () => {
    expect(new Set(RUNTIME_ROLES)).toEqual(new Set(Object.keys(docker)));
  });

  it("wraps each role once, by name, keeping the roles' methods", () => {
    const seen: string[] = [];
    const wrapped = mapRuntimeRoles(docker, (role, name) => {
      seen.push(name);
      return role;
    });
    expect(seen).toEqual([...RUNTIME_ROLES]);
    for (const name of RUNTIME_ROLES) expect(wrapped[name]).toBe(docker[name]);
    expect(typeof wrapped.containers.startRunner).toBe("function");
  });
});
