import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { z } from "zod";
import { createProgressReporter } from "../progress.js";
import type { ToolDeps } from "../tool-deps.js";
import { toolFailure, toolSuccess } from "../tool-result.js";

const PHASE_PROGRESS = { pulling: 10, creating: 50, starting: 70, ready: 100 } as const;

export function registerRunnerSpawnTool(server: McpServer, deps: ToolDeps): void {
  server.registerTool(
    "runner_spawn",
    {
      title: "Spawn a runner",
      description:
        "Start a new runner: a Linux development container of your own with a working directory /work. " +
        "Waits until the runner is ready, then returns its runner_id; pass that id as `runner` to exec and the fs_* tools. " +
        "The image is pulled first if it is not on the host (progress is reported). Remove the runner with runner_remove when done.",
      inputSchema: {
        image: z
          .string()
          .min(1)
          .max(255)
          .optional()
          .describe("Container image to run, e.g. \"ubuntu:24.04\" or \"python:3.12\" (any glibc-based Linux image: the agent is added when the image lacks it). Omit to use the server's default image."),
        mounts: z
          .array(
            z.object({
              alias: z.string().min(1).max(32).describe('An allowed root of this server, by alias, e.g. "data" (the operator lists them; an unknown alias is refused with the list).'),
              subpath: z.string().max(1024).optional().describe('A folder inside the alias root to mount instead of the whole root, relative to it, e.g. "reports/2024"; no "..".'),
              target: z.string().max(1024).optional().describe('Where it appears in the runner, under /export; default "/export/<alias>".'),
              mode: z.enum(["ro", "rw"]).default("ro").describe('"ro" (default) or "rw" (only where the alias allows it); export_create can write into "rw" mounts.'),
            }),
          )
          .max(16)
          .default([])
          .describe("Host folders to mount in the runner, by allowed-root alias; read-only unless you ask for rw and the alias allows it."),
      },
      outputSchema: {
        runner_id: z.string().describe("The new runner's id; pass it as `runner` to other tools."),
        image: z.string().describe("The image the runner was created from."),
        status: z.enum(["ready"]).describe("Always \"ready\": the call returns once the runner accepts commands."),
        created_at: z.string().describe("Creation time, ISO 8601."),
        startup_ms: z.number().int().describe("Milliseconds from the call to the runner being ready."),
      },
      annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
    },
    async ({ image, mounts }, extra) => {
      const startedAt = Date.now();
      const report = createProgressReporter(extra);
      try {
        const runner = await deps.runners.spawn(deps.principal, { image, mounts }, (progress) => {
          const detail = progress.phase === "pulling" ? `: ${progress.detail.status}` : "";
          report(PHASE_PROGRESS[progress.phase], `${progress.phase}${detail}`);
        });
        const startupMs = Date.now() - startedAt;
        return toolSuccess(
          { runner_id: runner.runnerId, image: runner.image, status: "ready", created_at: runner.createdAt, startup_ms: startupMs },
          `Runner ${runner.runnerId} is ready (image ${runner.image}, ${startupMs} ms).`,
        );
      } catch (error) {
        return toolFailure(error);
      }
    },
  );
}
