import { describe, expect, it } from "vitest";
import { runWithRequestContext } from "../request-context.js";
import { classifyPullFailure, imageRegistry } from "./pull-failure.js";

describe("imageRegistry", () => {
  it.each([
    ["ubuntu:24.04", "docker.io"],
    ["library/ubuntu", "docker.io"],
    ["ghcr.io/acme/tool:1", "ghcr.io"],
    ["127.0.0.1:5000/team/image:tag", "127.0.0.1:5000"],
    ["localhost/image", "localhost"],
  ])("%s → %s", (image, registry) => {
    expect(imageRegistry(image)).toBe(registry);
  });
});

describe("classifyPullFailure", () => {
  // The Docker Hub answer for a repository that does not exist (or is private), as documented for `docker pull`.
  const hubDenied =
    "pull access denied for acme/nothing, repository does not exist or may require 'docker login': denied: requested access to the resource is denied";

  it("reports a missing repository on Docker Hub as IMAGE_NOT_FOUND, not as a credentials problem", () => {
    const error = classifyPullFailure("acme/nothing:1", hubDenied);
    expect(error.code).toBe("IMAGE_NOT_FOUND");
    expect(error.message).toBe(
      'Image "acme/nothing:1" was not found on registry "docker.io". ' +
        "Check the repository name and tag, or build the image on the Docker host (`npm run images` builds devhatchery/runner:latest). See the control plane log.",
    );
  });

  it("reports refused credentials as IMAGE_PULL_FAILED with a docker login hint", () => {
    const error = classifyPullFailure("ghcr.io/acme/private:1", "unauthorized: authentication required");
    expect(error.code).toBe("IMAGE_PULL_FAILED");
    expect(error.message).toBe(
      'Image "ghcr.io/acme/private:1" could not be pulled: registry "ghcr.io" requires credentials the Docker host does not have. ' +
        "Run `docker login ghcr.io` on the Docker host, or use a public image. See the control plane log.",
    );
  });

  it.each([
    'Get "https://registry.example/v2/": dial tcp: lookup registry.example on 10.0.0.53:53: no such host',
    'Get "https://registry.example/v2/": net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)',
    'Get "https://registry.example/v2/": x509: certificate signed by unknown authority',
  ])("reports an unreachable registry as IMAGE_PULL_FAILED with a local-image hint: %s", (reason) => {
    const error = classifyPullFailure("registry.example/team/image", reason);
    expect(error.code).toBe("IMAGE_PULL_FAILED");
    expect(error.message).toBe(
      `Image "registry.example/team/image" could not be pulled: registry "registry.example" is unreachable from the Docker host. ` +
        "Use an image that is present locally, or ask the operator to prepull it. See the control plane log.",
    );
  });

  it("reports any other reason as IMAGE_PULL_FAILED without Docker's words", () => {
    const error = classifyPullFailure("acme/tool", "toomanyrequests: You have reached your pull rate limit.");
    expect(error.code).toBe("IMAGE_PULL_FAILED");
    expect(error.message).toBe(
      'Image "acme/tool" could not be pulled from registry "docker.io". ' +
        "Check the image name and the registry, or ask the operator to pull it on the Docker host. See the control plane log.",
    );
  });

  // Reasons as the engine words them: registry hosts, DNS servers, addresses and ports the client must not see.
  it.each([
    'Get "https://registry.example/v2/": dial tcp: lookup registry.example on 10.0.0.53:53: no such host',
    'Get "http://10.1.2.3:5000/v2/": dial tcp 10.1.2.3:5000: connect: connection refused',
    'Head "http://10.1.2.3:5000/v2/team/private/manifests/1": no basic auth credentials',
    "manifest for 10.1.2.3:5000/team/x:1 not found: manifest unknown: manifest unknown",
    "error pulling image configuration: download failed after attempts=6: dial tcp 104.16.0.1:443: i/o timeout",
  ])("keeps the engine's reason out of the message and names the request's log lines: %s", (reason) => {
    const error = runWithRequestContext({ correlationId: "req-9" }, () => classifyPullFailure("team/image:1", reason));
    expect(error.message).not.toMatch(/\d+\.\d+\.\d+\.\d+|:53\b|:5000|:443|Docker said|manifest unknown|no such host/);
    expect(error.message).toMatch(/ See the control plane log, request id "req-9"\.$/);
  });
});
