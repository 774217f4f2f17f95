import { PassThrough } from "node:stream";
import { describe, expect, it } from "vitest";
import { AgentError } from "./errors.js";
import { createLogger } from "./log.js";

function capture(level: string) {
  const sink = new PassThrough();
  const lines: Array<Record<string, unknown>> = [];
  sink.on("data", (chunk: Buffer) =>
    lines.push(
      ...chunk
        .toString()
        .trim()
        .split("\n")
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    ),
  );
  return { log: createLogger(level, sink), lines };
}

describe("createLogger", () => {
  it("writes one JSON line per call, synchronously, in pino's shape", () => {
    const { log, lines } = capture("info");
    log.info({ exec: "e1", pid: 42, skipped: undefined }, "process started");
    log.warn("no fields");
    expect(lines).toEqual([
      {
        level: 30,
        time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
        service: "runner-agent",
        exec: "e1",
        pid: 42,
        msg: "process started",
      },
      { level: 40, time: expect.any(String), service: "runner-agent", msg: "no fields" },
    ]);
  });

  it("leaves out levels below its own, and everything when silent", () => {
    const info = capture("info");
    info.log.debug({ watch: "w1" }, "watch reader attached");
    info.log.fatal("failed");
    expect(info.lines.map((line) => line.level)).toEqual([60]);
    const silent = capture("silent");
    silent.log.fatal("failed");
    expect(silent.lines).toEqual([]);
  });

  it("writes errors with their type, message, stack, own fields and cause", () => {
    const { log, lines } = capture("info");
    const cause = Object.assign(new Error("ENOENT: no such file"), { code: "ENOENT" });
    log.error({ err: new AgentError("NOT_FOUND", 'No file at "/work/a"', { cause }) }, "exec stream failed");
    expect(lines[0]?.err).toMatchObject({
      type: "AgentError",
      message: 'No file at "/work/a"',
      code: "NOT_FOUND",
      stack: expect.stringContaining("AgentError"),
      cause: { type: "Error", message: "ENOENT: no such file", code: "ENOENT" },
    });
  });

  it("keeps the line when a field cannot be serialized", () => {
    const { log, lines } = capture("info");
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    log.info({ cyclic }, "odd fields");
    expect(lines).toEqual([
      {
        level: 30,
        time: expect.any(String),
        service: "runner-agent",
        msg: "odd fields",
        logError: expect.stringContaining("cannot serialize the fields"),
      },
    ]);
  });

  it("refuses an unknown level, naming the valid ones", () => {
    expect(() => createLogger("verbose")).toThrow(
      'Unknown log level "verbose"; use one of trace, debug, info, warn, error, fatal or silent.',
    );
  });
});
