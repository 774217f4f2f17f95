import { describe, expect, it } from "vitest";
import { captureLog } from "../../test/captured-log.js";
import { createLogger } from "../log.js";
import { runWithRequestContext } from "../request-context.js";
import { createDockerErrors } from "./docker-errors.js";

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
  dockerodeError("(HTTP code 400) bad parameter - Minimum memory limit allowed is 6MB ", { statusCode: 400, reason: "bad parameter", json: { message: "Minimum memory limit allowed is 6MB" } }),
  dockerodeError(
    "(HTTP code 500) server error - driver failed programming external connectivity on endpoint devhatchery-r-1 (5f0c9a52): Error starting userland proxy: listen tcp4 172.18.0.3:7070: bind: address already in use ",
    { statusCode: 500, reason: "server error", json: { message: "driver failed programming external connectivity on endpoint devhatchery-r-1 (5f0c9a52): Error starting userland proxy: listen tcp4 172.18.0.3:7070: bind: address already in use" } },
  ),
  dockerodeError('(HTTP code 500) server error - Get "https://registry.example/v2/": dial tcp: lookup registry.example on 127.0.0.11:53: no such host ', {
    statusCode: 500,
    reason: "server error",
    json: { message: 'Get "https://registry.example/v2/": dial tcp: lookup registry.example on 127.0.0.11:53: no such host' },
  }),
];

describe("Docker errors → control-plane errors", () => {
  it.each(ENGINE_ERRORS.map((error) => [error.message, error] as const))("keeps the engine's words out of the message: %s", (_message, engineError) => {
    const { log, lines } = captureLog();
    const error = runWithRequestContext({ correlationId: "req-7" }, () => createDockerErrors(log).wrap(engineError, 'create a runner from "img"'));
    expect(error.message).not.toMatch(/\d+\.\d+\.\d+\.\d+|:7070|:53\b|HTTP code|network devhatchery|Minimum memory|no such host|driver failed/);
    expect(error.message).toMatch(/^Cannot create a runner from "img": .* See the control plane log, request id "req-7"\.$/);
    // The log keeps what the message leaves out, under the same request id.
    expect(lines()).toContainEqual(expect.objectContaining({ requestId: "req-7", what: 'create a runner from "img"', err: expect.objectContaining({ message: engineError.message }) }));
  });

  it("maps each kind to its code", () => {
    const errors = createDockerErrors(createLogger("silent"));
    expect(ENGINE_ERRORS.map((error) => errors.wrap(error, "x").code)).toEqual(["NOT_FOUND", "INTERNAL", "INTERNAL", "INTERNAL"]);
    const unreachable = errors.wrap(Object.assign(new Error("connect ECONNREFUSED 127.0.0.1:2375"), { code: "ECONNREFUSED", address: "127.0.0.1" }), "reach the Docker engine");
    expect(unreachable).toMatchObject({
      code: "DOCKER_UNAVAILABLE",
      message: "Cannot reach the Docker engine: the Docker engine is not reachable (ECONNREFUSED). Start Docker, or point DEVHATCHERY_DOCKER_HOST at it.",
    });
  });
});
