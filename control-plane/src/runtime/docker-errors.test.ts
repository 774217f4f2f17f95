import { describe, expect, it } from "vitest";
import { captureLog } from "../../test/captured-log.js";
import { ControlPlaneError } from "../errors.js";
import { createLogger } from "../log.js";
import { runWithRequestContext } from "../request-context.js";
import { classifyDockerFailure, createDockerErrors, isDockerFailure, type EngineFailure } from "./docker-errors.js";

/** dockerode errors as they come (captured from Docker Engine 20.10): message, statusCode, reason, json. */
function dockerodeError(message: string, fields: Record<string, unknown>): Error {
  return Object.assign(new Error(message), fields);
}

const ENGINE_ERRORS = [
  dockerodeError("(HTTP code 404) no such container - network devhatchery-nosuch-net not found ", {
    statusCode: 404,
    reason: "no such container",
    json: { message: "network devhatchery-nosuch-net not found" },
  }),
  dockerodeError("(HTTP code 400) bad parameter - Minimum memory limit allowed is 6MB ", {
    statusCode: 400,
    reason: "bad parameter",
    json: { message: "Minimum memory limit allowed is 6MB" },
  }),
  dockerodeError(
    "(HTTP code 500) server error - driver failed programming external connectivity on endpoint devhatchery-r-1 (5f0c9a52): Error starting userland proxy: listen tcp4 172.18.0.3:7070: bind: address already in use ",
    {
      statusCode: 500,
      reason: "server error",
      json: {
        message:
          "driver failed programming external connectivity on endpoint devhatchery-r-1 (5f0c9a52): Error starting userland proxy: listen tcp4 172.18.0.3:7070: bind: address already in use",
      },
    },
  ),
  dockerodeError(
    '(HTTP code 500) server error - Get "https://registry.example/v2/": dial tcp: lookup registry.example on 127.0.0.11:53: no such host ',
    {
      statusCode: 500,
      reason: "server error",
      json: {
        message: 'Get "https://registry.example/v2/": dial tcp: lookup registry.example on 127.0.0.11:53: no such host',
      },
    },
  ),
];

describe("Docker errors → control-plane errors", () => {
  it.each(ENGINE_ERRORS.map((error) => [error.message, error] as const))(
    "keeps the engine's words out of the message: %s",
    (_message, engineError) => {
      const { log, lines } = captureLog();
      const error = runWithRequestContext({ correlationId: "req-7" }, () =>
        createDockerErrors(log).wrap(engineError, 'create a runner from "img"'),
      );
      expect(error.message).not.toMatch(
        /\d+\.\d+\.\d+\.\d+|:7070|:53\b|HTTP code|network devhatchery|Minimum memory|no such host|driver failed/,
      );
      expect(error.message).toMatch(
        /^Cannot create a runner from "img": .* See the control plane log, request id "req-7"\.$/,
      );
      // The log keeps what the message leaves out, under the same request id.
      expect(lines()).toContainEqual(
        expect.objectContaining({
          requestId: "req-7",
          what: 'create a runner from "img"',
          err: expect.objectContaining({ message: engineError.message }),
        }),
      );
    },
  );

  it("maps each kind to its code", () => {
    const errors = createDockerErrors(createLogger("silent"));
    expect(ENGINE_ERRORS.map((error) => errors.wrap(error, "x").code)).toEqual([
      "NOT_FOUND",
      "INTERNAL",
      "INTERNAL",
      "INTERNAL",
    ]);
    const unreachable = errors.wrap(
      Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:2375"), { code: "ECONNREFUSED", address: "127.0.0.1" }),
      "reach the Docker engine",
    );
    expect(unreachable).toMatchObject({
      code: "DOCKER_UNAVAILABLE",
      message:
        "Cannot reach the Docker engine: the Docker engine is not reachable (ECONNREFUSED). Start Docker, or point DEVHATCHERY_DOCKER_HOST at it.",
    });
  });
});

/** Every row of the table: a dockerode failure as it comes, its kind, and the error it becomes when nobody handles it. */
const TABLE: [string, unknown, EngineFailure, string, string][] = [
  [
    "ECONNREFUSED",
    Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:2375"), { code: "ECONNREFUSED" }),
    "unreachable",
    "DOCKER_UNAVAILABLE",
    "Cannot act: the Docker engine is not reachable (ECONNREFUSED). Start Docker, or point DEVHATCHERY_DOCKER_HOST at it.",
  ],
  [
    "ENOENT",
    Object.assign(new Error("connect ENOENT /var/run/docker.sock"), { code: "ENOENT" }),
    "unreachable",
    "DOCKER_UNAVAILABLE",
    "Cannot act: the Docker engine is not reachable (ENOENT). Start Docker, or point DEVHATCHERY_DOCKER_HOST at it.",
  ],
  [
    "EACCES",
    Object.assign(new Error("connect EACCES /var/run/docker.sock"), { code: "EACCES" }),
    "unreachable",
    "DOCKER_UNAVAILABLE",
    "Cannot act: the Docker engine is not reachable (EACCES). Start Docker, or point DEVHATCHERY_DOCKER_HOST at it.",
  ],
  [
    "another errno",
    Object.assign(new Error("socket hang up"), { code: "ECONNRESET" }),
    "interrupted",
    "INTERNAL",
    'Cannot act: the Docker engine refused it. See the control plane log, request id "req-1".',
  ],
  [
    "no status",
    new Error("stream ended"),
    "interrupted",
    "INTERNAL",
    'Cannot act: the Docker engine refused it. See the control plane log, request id "req-1".',
  ],
  [
    "HTTP 304",
    dockerodeError("(HTTP code 304) container already stopped - ", { statusCode: 304 }),
    "unchanged",
    "INTERNAL",
    'Cannot act: the Docker engine refused it (HTTP 304). See the control plane log, request id "req-1".',
  ],
  [
    "HTTP 400",
    dockerodeError("(HTTP code 400) bad parameter - invalid reference format", { statusCode: 400 }),
    "invalid",
    "INTERNAL",
    'Cannot act: the Docker engine refused it (HTTP 400). See the control plane log, request id "req-1".',
  ],
  [
    "HTTP 404",
    dockerodeError("(HTTP code 404) no such container - ", { statusCode: 404 }),
    "missing",
    "NOT_FOUND",
    'Cannot act: Docker has no such object, or something it needs is gone. See the control plane log, request id "req-1".',
  ],
  [
    "HTTP 409",
    dockerodeError("(HTTP code 409) conflict - volume is in use", { statusCode: 409 }),
    "conflict",
    "INTERNAL",
    'Cannot act: the Docker engine refused it (HTTP 409). See the control plane log, request id "req-1".',
  ],
  [
    "HTTP 500",
    dockerodeError("(HTTP code 500) server error - ", { statusCode: 500 }),
    "refused",
    "INTERNAL",
    'Cannot act: the Docker engine refused it (HTTP 500). See the control plane log, request id "req-1".',
  ],
  [
    "HTTP 403",
    dockerodeError("(HTTP code 403) forbidden - ", { statusCode: 403 }),
    "refused",
    "INTERNAL",
    'Cannot act: the Docker engine refused it (HTTP 403). See the control plane log, request id "req-1".',
  ],
];

describe("the Docker failure table", () => {
  it.each(TABLE)("%s is %s → %s", (_row, engineError, kind, code, message) => {
    expect(classifyDockerFailure(engineError)).toBe(kind);
    expect(isDockerFailure(engineError, kind)).toBe(true);
    expect(isDockerFailure(engineError, ...(["missing", "conflict"] as const).filter((other) => other !== kind))).toBe(
      false,
    );
    const error = runWithRequestContext({ correlationId: "req-1" }, () =>
      createDockerErrors(createLogger("silent")).wrap(engineError, "act"),
    );
    expect(error).toMatchObject({ code, message, cause: engineError });
  });

  it("covers every kind", () => {
    expect(new Set(TABLE.map((row) => row[2]))).toEqual(
      new Set<EngineFailure>(["unreachable", "interrupted", "unchanged", "invalid", "missing", "conflict", "refused"]),
    );
  });

  it("keeps a control-plane error as it is", () => {
    const own = new ControlPlaneError("VOLUME_IN_USE", "in use");
    expect(createDockerErrors(createLogger("silent")).wrap(own, "act")).toBe(own);
  });
});
