import { describe, expect, it } from "vitest";
import { createLogger } from "../../log.js";
import { ExecService } from "../../runners/exec/exec-service.js";
import type { RunnerService } from "../../runners/runner-service.js";
import { createExecOutputSubscriptionProvider } from "./exec-output-resource.js";

describe("exec output subscription provider", () => {
  // handles() and the URI check run before any runner is contacted, so no runner service is needed.
  const provider = createExecOutputSubscriptionProvider(new ExecService({} as RunnerService, createLogger("silent")), {
    id: "alice",
  });

  it.each([
    ["devhatchery://runners/r-0123456789ab/execs/ex_0123456789abcdef/output", true],
    ["devhatchery://runners/r-0123456789ab/execs/ex_0123456789abcdef", false],
    ["devhatchery://runners/r-0123456789ab/files/work/a.txt", false],
    ["devhatchery://runners/r-0123456789ab", false],
    ["devhatchery://runners/r-0123456789ab/execs//output", false],
  ])("%s → %s", (uri, handled) => {
    expect(provider.handles(uri)).toBe(handled);
  });

  it("rejects a URI it does not handle with a message naming the template", async () => {
    await expect(provider.subscribe("devhatchery://runners/r-0123456789ab", () => {})).rejects.toMatchObject({
      code: "INVALID_ARGUMENT",
      message:
        '"devhatchery://runners/r-0123456789ab" is not an exec output URI; use devhatchery://runners/{runner}/execs/{exec}/output with ids from runner_spawn and exec.',
    });
  });
});
