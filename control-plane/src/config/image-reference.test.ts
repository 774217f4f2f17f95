import { describe, expect, it } from "vitest";
import { parseImageReference, referenceForms, registryOf } from "./image-reference.js";

describe("parseImageReference reads references as the Docker engine does", () => {
  it.each([
    ["ubuntu", "docker.io/library/ubuntu:latest", "docker.io"],
    ["ubuntu:24.04", "docker.io/library/ubuntu:24.04", "docker.io"],
    ["library/ubuntu:24.04", "docker.io/library/ubuntu:24.04", "docker.io"],
    ["docker.io/ubuntu:24.04", "docker.io/library/ubuntu:24.04", "docker.io"],
    ["index.docker.io/library/ubuntu", "docker.io/library/ubuntu:latest", "docker.io"],
    [
      "devhatchery-snapshot/0123abcd:s-0123456789ab",
      "docker.io/devhatchery-snapshot/0123abcd:s-0123456789ab",
      "docker.io",
    ],
    ["localhost/devhatchery-snapshot/x:1", "localhost/devhatchery-snapshot/x:1", "localhost"],
    ["127.0.0.1:5000/team/tool:2", "127.0.0.1:5000/team/tool:2", "127.0.0.1:5000"],
    ["registry.example.com/tool", "registry.example.com/tool:latest", "registry.example.com"],
    [`ubuntu:24.04@sha256:${"a".repeat(64)}`, `docker.io/library/ubuntu@sha256:${"a".repeat(64)}`, "docker.io"],
    // Not all hex: a name (the engine tries it as a name first, and only hex can match an id).
    ["cafe:latest", "docker.io/library/cafe:latest", "docker.io"],
  ])("%s is %s from %s", (reference, canonical, registry) => {
    expect(parseImageReference(reference)).toMatchObject({ kind: "name", canonical, registry });
    expect(registryOf(reference)).toBe(registry);
  });

  it.each(["9196", "d", "D72E", "cafe", "a".repeat(64), `sha256:${"a".repeat(64)}`, "sha256:d72e58"])(
    "%s is an id reference",
    (reference) => {
      expect(parseImageReference(reference)).toEqual({ kind: "id", value: reference.toLowerCase() });
      expect(registryOf(reference)).toBeUndefined();
    },
  );

  it.each(["Ubuntu", "ubuntu:", "ubuntu@sha256:abc", "a b", "", "ubuntu:24.04:1", "-ubuntu", "ubuntu/", "//x"])(
    "%j is no reference",
    (reference) => {
      expect(parseImageReference(reference)).toBeUndefined();
    },
  );

  it("lists the forms a pattern may name an image by", () => {
    const parsed = parseImageReference("docker.io/library/ubuntu:24.04");
    if (parsed?.kind !== "name") throw new Error("not a name");
    expect(referenceForms("docker.io/library/ubuntu:24.04", parsed)).toEqual([
      "docker.io/library/ubuntu:24.04",
      "ubuntu:24.04",
    ]);
  });
});
