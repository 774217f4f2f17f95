import { ResourceTemplate, type McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { UriTemplate } from "@modelcontextprotocol/sdk/shared/uriTemplate.js";
import { ControlPlaneError } from "../../errors.js";
import type { Principal, RunnerInfo } from "../../runners/runner.js";
import type { RunnerService } from "../../runners/runner-service.js";
import type { ToolDeps } from "../tool-deps.js";
import { toRunnerOutput } from "../tools/runner-schemas.js";
import { toResourceError } from "./resource-error.js";
import { fileUri, parseRunnerUri, RUNNER_URI_TEMPLATE, runnerUri } from "./resource-uris.js";

/** Runner ids a completion offers at most. */
const COMPLETION_LIMIT = 100;

const URI_TEMPLATE = new UriTemplate(RUNNER_URI_TEMPLATE);

const METADATA = {
  title: "Runner",
  description:
    "One of your runners (by runner_id, alias or workspace_key) as JSON: status (starting, ready, stopped, failed), image, alias, workspace_key, storage, volume, " +
    "created_at, last_activity_at, limits, network, profile, error, and the URI of its files. " +
    "Subscribe to hear when it becomes ready, fails, stops, starts again or is removed.",
  mimeType: "application/json",
};

/** The principal's runner by id, alias or workspace key; NOT_FOUND for a missing runner and for someone else's alike. */
export async function findRunner(runners: RunnerService, principal: Principal, runnerRef: string): Promise<RunnerInfo> {
  if (runnerRef === "")
    throw new ControlPlaneError(
      "NOT_FOUND",
      `Runner "" not found for this principal; list runners with runner_list or spawn one with runner_spawn.`,
    );
  return runners.get(principal, runnerRef);
}

/** Completes a runner id from the caller's runners (newest first). */
export async function completeRunnerId(deps: ToolDeps, value: string): Promise<string[]> {
  try {
    const runners = await deps.runners.list(deps.principal);
    return runners
      .map((runner) => runner.runnerId)
      .filter((id) => id.startsWith(value))
      .slice(0, COMPLETION_LIMIT);
  } catch (error) {
    deps.log.debug({ err: error }, "runner completion failed");
    return [];
  }
}

/** `devhatchery://runners/{runner}`: a runner's status, image and creation time as JSON; listed for the caller. */
export function registerRunnerResource(server: McpServer, deps: ToolDeps): void {
  const template = new ResourceTemplate(URI_TEMPLATE, {
    list: async () => {
      const runners = await deps.runners.list(deps.principal).catch((error: unknown) => {
        throw toResourceError(error);
      });
      return {
        resources: runners.map((runner) => ({
          uri: runnerUri(runner.runnerId),
          name: runner.runnerId,
          title: `Runner ${runner.runnerId} (${runner.image}, ${runner.status})`,
          mimeType: "application/json",
        })),
      };
    },
    complete: { runner: (value) => completeRunnerId(deps, value) },
  });
  server.registerResource("runner", template, METADATA, async (uri) => {
    try {
      const runnerId = parseRunnerUri(uri.href)?.runnerId ?? "";
      const runner = await findRunner(deps.runners, deps.principal, runnerId);
      const body = { ...toRunnerOutput(runner), files_uri: fileUri(runner.runnerId, "/work") };
      return { contents: [{ uri: uri.href, mimeType: "application/json", text: JSON.stringify(body, null, 2) }] };
    } catch (error) {
      throw toResourceError(error);
    }
  });
}
