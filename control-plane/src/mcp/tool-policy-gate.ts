import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import {
  CallToolRequestSchema,
  ErrorCode,
  ListResourcesRequestSchema,
  McpError,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  type CallToolResult,
} from "@modelcontextprotocol/sdk/types.js";
import type { AuditLog } from "../audit.js";
import { PolicyDeniedError } from "../auth/policy-denied-error.js";
import type { PrincipalPolicy } from "../auth/principal-policy.js";
import type { Principal } from "../auth/principal.js";
import { installedHandler, sdkCallToolHandler } from "./optional-task-tool.js";
import { toolFailure } from "./tool-result.js";

/** The tool whose grant a resource read needs: what the same look would take as a tool call. */
export function toolForResource(uri: string): string | undefined {
  if (/^devhatchery:\/\/runners\/[^/?#]+\/files(\/|$)/.test(uri)) return "fs_read";
  if (/^devhatchery:\/\/runners\/[^/?#]+\/execs\/[^/?#]+\/output\/?$/.test(uri)) return "exec_read";
  if (/^devhatchery:\/\/runners\/[^/?#]+\/?$/.test(uri)) return "runner_list";
  return undefined;
}

function refusal(policy: PrincipalPolicy, what: string): PolicyDeniedError {
  const allowed = [...(policy.tools ?? [])].join(", ") || "none";
  return new PolicyDeniedError(
    "tools",
    allowed,
    `policy "${policy.name}" (rule tools) does not allow ${what}; the tools it allows: ${allowed}. Ask the operator if you need it.`,
    policy.name,
  );
}

/**
 * Refuses what the principal's policy does not grant (policies' `tools`), read at every request (a session's principal
 * follows its latest token): tool calls, plain and task-augmented, before any argument is looked at (a failed result
 * with POLICY_DENIED naming the policy and the rule); resource reads and subscriptions, which need the tool the same
 * look would take (fs_read for files, exec_read for exec output, runner_list for runners); resources/list, which lists
 * nothing without fs_list. Every refusal is audited as policy.denied. Install it after everything is registered; tools
 * stay listed, so a model learns from the refusal why a tool it sees is closed to it.
 */
export function gateToolsByPolicy(server: McpServer, principal: Principal, audit: AuditLog): void {
  const deny = (policy: PrincipalPolicy, request: string, what: string): PolicyDeniedError => {
    const error = refusal(policy, what);
    audit.record({
      action: "policy.denied",
      principal: principal.id,
      outcome: "denied",
      request,
      policy: policy.name,
      what: "tools",
      limit: error.limit,
    });
    return error;
  };
  const closed = (tool: string): PrincipalPolicy | undefined => {
    const policy = principal.policy;
    return policy?.tools && !policy.tools.has(tool) ? policy : undefined;
  };

  const callTool = sdkCallToolHandler(server);
  server.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const name = request.params.name;
    const policy = closed(name);
    if (!policy) return (await callTool(request, extra)) as CallToolResult;
    const error = deny(policy, `tool.${name}`, `the tool ${name}`);
    // A task-augmented call expects a task, not a tool result: the refusal is the request's error.
    if (request.params.task) throw new McpError(ErrorCode.InvalidRequest, `POLICY_DENIED: ${error.message}`);
    return toolFailure(error);
  });

  const guardResource = (method: "resources/read" | "resources/subscribe", uri: string): void => {
    const tool = toolForResource(uri);
    const policy = tool ? closed(tool) : undefined;
    if (policy && tool) {
      const error = deny(
        policy,
        method,
        `${method === "resources/read" ? "reading" : "subscribing to"} ${uri} (it takes ${tool})`,
      );
      throw new McpError(ErrorCode.InvalidRequest, `POLICY_DENIED: ${error.message}`);
    }
  };
  const read = installedHandler(server, "resources/read");
  server.server.setRequestHandler(ReadResourceRequestSchema, async (request, extra) => {
    guardResource("resources/read", request.params.uri);
    return (await read(request as never, extra as never)) as never;
  });
  const subscribe = installedHandler(server, "resources/subscribe");
  server.server.setRequestHandler(SubscribeRequestSchema, async (request, extra) => {
    guardResource("resources/subscribe", request.params.uri);
    return (await subscribe(request as never, extra as never)) as never;
  });
  const list = installedHandler(server, "resources/list");
  server.server.setRequestHandler(ListResourcesRequestSchema, async (request, extra) => {
    if (closed("fs_list")) return { resources: [] };
    return (await list(request as never, extra as never)) as never;
  });
}
