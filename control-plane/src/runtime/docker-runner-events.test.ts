import { createServer, type Server } from "node:http";
import Docker from "dockerode";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../log.js";
import type { RunnerEvent } from "./runner-events.js";
import { watchDockerRunnerEvents } from "./docker-runner-events.js";

function engineEvent(action: string, runnerId: string, timeNano: number, extra: Record<string, string> = {}): string {
  const attributes = {
    "io.devhatchery.kind": "runner",
    "io.devhatchery.runner": runnerId,
    "io.devhatchery.owner": "alice",
    ...extra,
  };
  return `${JSON.stringify({ Type: "container", Action: action, timeNano, Actor: { ID: `c-${runnerId}`, Attributes: attributes } })}\n`;
}

// The reconnection logic needs an event stream that ends on demand, which the real engine only does when it
// restarts; this HTTP server speaks the engine's /events answer and records the queries it was asked.
describe("watchDockerRunnerEvents", () => {
  let server: Server | undefined;
  afterEach(() => server?.close());

  it("parses runner events, reconnects after the stream ends asking for what it missed, and delivers nothing twice", async () => {
    const queries: URLSearchParams[] = [];
    server = createServer((request, response) => {
      const query = new URL(request.url ?? "/", "http://engine").searchParams;
      queries.push(query);
      response.writeHead(200, { "content-type": "application/json" });
      if (queries.length === 1) {
        response.write(engineEvent("start", "r1", 1_000_000_000_500));
        // Split across writes, as the engine's chunks may be.
        const die = engineEvent("die", "r1", 1_000_000_001_000, { exitCode: "137" });
        response.write(die.slice(0, 20));
        response.end(die.slice(20));
      } else {
        response.write(engineEvent("die", "r1", 1_000_000_001_000, { exitCode: "137" }));
        response.write(
          '{"Type":"container","Action":"die","Actor":{"Attributes":{"io.devhatchery.kind":"agent-helper"}}}\n',
        );
        response.write(engineEvent("destroy", "r1", 1_000_000_002_000));
      }
    });
    await new Promise<void>((resolve) => server?.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as { port: number };
    const events: RunnerEvent[] = [];
    const unsubscribe = watchDockerRunnerEvents(
      new Docker({ host: "127.0.0.1", port }),
      createLogger("silent"),
      (event) => events.push(event),
      {
        initialMs: 10,
        maxMs: 50,
      },
    );
    for (let attempt = 0; attempt < 200 && events.length < 3; attempt++)
      await new Promise((resolve) => setTimeout(resolve, 10));
    unsubscribe();

    expect(events).toEqual([
      { runnerId: "r1", principal: "alice", action: "start", exitCode: undefined },
      { runnerId: "r1", principal: "alice", action: "die", exitCode: 137 },
      { runnerId: "r1", principal: "alice", action: "destroy", exitCode: undefined },
    ]);
    expect(JSON.parse(queries[0]?.get("filters") ?? "{}")).toEqual({
      type: ["container"],
      event: ["start", "die", "oom", "destroy"],
      label: ["io.devhatchery.kind=runner", "io.devhatchery.managed=true"],
    });
    expect(queries[0]?.get("since")).toBeNull();
    expect(Number(queries[1]?.get("since"))).toBeCloseTo(1000.000001, 6);
  });
});
