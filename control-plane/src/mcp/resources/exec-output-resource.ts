import { ResourceTemplate, type McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { UriTemplate } from "@modelcontextprotocol/sdk/shared/uriTemplate.js";
import { ControlPlaneError } from "../../errors.js";
import type { ExecService } from "../../runners/exec/exec-service.js";
import type { Principal } from "../../runners/runner.js";
import type { ToolDeps } from "../tool-deps.js";
import { toResourceError } from "./resource-error.js";
import type { SubscriptionProvider } from "./subscription-provider.js";

export const EXEC_OUTPUT_URI_TEMPLATE = "devhatchery://runners/{runner}/execs/{exec}/output";

/** The newest output a resource read returns; older output is read with exec_read. */
export const EXEC_OUTPUT_RESOURCE_CAP_BYTES = 64 * 1024;

const template = new UriTemplate(EXEC_OUTPUT_URI_TEMPLATE);

const METADATA = {
  title: "Command output",
  description:
    `The last ${EXEC_OUTPUT_RESOURCE_CAP_BYTES / 1024} KiB of a process's output (stdout and stderr interleaved as written). ` +
    "Subscribe to be notified when new output arrives; read older output with exec_read.",
  mimeType: "text/plain",
};

function parse(uri: string): { runner: string; exec: string } | undefined {
  const match = template.match(uri);
  const runner = match?.runner;
  const exec = match?.exec;
  return typeof runner === "string" && typeof exec === "string" && runner && exec ? { runner, exec } : undefined;
}

/** Registers the exec output resource template: the tail of a process's output, stdout and stderr as written. */
export function registerExecOutputResource(server: McpServer, deps: ToolDeps): void {
  server.registerResource(
    "exec_output",
    new ResourceTemplate(template, {
      list: undefined,
      complete: {
        exec: async (value, context) => {
          const runner = context?.arguments?.runner;
          if (!runner) return [];
          const execs = await deps.execs.list(deps.principal, runner).catch(() => []);
          return execs.map((exec) => exec.execId).filter((id) => id.startsWith(value));
        },
      },
    }),
    METADATA,
    async (uri) => {
      const target = parse(uri.href);
      try {
        if (!target) throw notExecOutputUri(uri.href);
        const tail = await deps.execs.tail(deps.principal, target.runner, target.exec, EXEC_OUTPUT_RESOURCE_CAP_BYTES);
        const omitted =
          tail.fromCursor > 0
            ? `[… ${tail.fromCursor} earlier bytes omitted; read them with exec_read exec_id=${target.exec} cursor=0 …]\n`
            : "";
        return { contents: [{ uri: uri.href, mimeType: "text/plain", text: omitted + tail.text }] };
      } catch (error) {
        throw toResourceError(error);
      }
    },
  );
}

/** Follows exec output URIs for one session: each new piece of output, and the exit, count as a change. */
export function createExecOutputSubscriptionProvider(execs: ExecService, principal: Principal): SubscriptionProvider {
  return {
    handles: (uri) => parse(uri) !== undefined,
    async subscribe(uri, changed) {
      const target = parse(uri);
      if (!target) throw notExecOutputUri(uri);
      const follower = await execs.follow(principal, target.runner, target.exec, changed);
      return async () => follower.close();
    },
  };
}

function notExecOutputUri(uri: string): ControlPlaneError {
  return new ControlPlaneError(
    "INVALID_ARGUMENT",
    `"${uri}" is not an exec output URI; use ${EXEC_OUTPUT_URI_TEMPLATE} with ids from runner_spawn and exec.`,
  );
}
