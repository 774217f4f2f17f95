import { describe, expect, it } from "vitest";
import { imageAdmission } from "./image-pattern.js";

const DIGEST = `sha256:${"b".repeat(64)}`;

describe("imageAdmission: images.allowed against the name as written and as the engine reads it", () => {
  it.each([
    [["docker.io/library/ubuntu:*"], "ubuntu:24.04", "name"],
    [["ubuntu:*"], "docker.io/library/ubuntu:24.04", "name"],
    [["devhatchery/*"], "docker.io/devhatchery/runner:1", "name"],
    [["devhatchery/*"], "localhost/devhatchery/runner:1", "denied"],
    [[`ubuntu@${DIGEST}`], "ubuntu:24.04", "digest"],
    [[`ubuntu@${DIGEST}`], `docker.io/library/ubuntu@${DIGEST}`, "digest"],
    [[`ubuntu@${DIGEST}`], "debian:12", "denied"],
    [["ubuntu@sha256:*", "python:*"], "python:3.12", "name"],
    // Not a name: compared as written (a spawn by id is checked against the names of the image the id resolves to).
    [["9196*"], "9196", "name"],
    [[], "anything:1", "name"],
  ] as const)("%j admits %s by %s", (patterns, reference, expected) => {
    expect(imageAdmission(reference, patterns)).toBe(expected);
  });
});
