import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { CallToolRequestSchema, ErrorCode, McpError, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import type { AuditLog } from "../audit.js";
import { PolicyDeniedError } from "../auth/policy-denied-error.js";
import type { Principal } from "../auth/principal.js";
import { sdkCallToolHandler } from "./optional-task-tool.js";
import { toolFailure } from "./tool-result.js";

/**
 * Refuses calls of tools the principal's policy does not grant (policies' `tools`), plain and task-augmented alike,
 * before any argument is looked at: a failed result with POLICY_DENIED naming the policy, the rule and the tools it
 * allows, and a policy.denied audit record. Install it after every tool is registered; tools stay listed, so a model
 * learns from the refusal why a tool it sees is closed to it.
 */
export function gateToolsByPolicy(server: McpServer, principal: Principal, audit: AuditLog): void {
  const next = sdkCallToolHandler(server);
  server.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    const name = request.params.name;
    // Read at every call: a session's principal follows the policy of its latest token.
    const policy = principal.policy;
    const granted = policy?.tools;
    if (!policy || !granted || granted.has(name)) return (await next(request, extra)) as CallToolResult;
    const allowed = [...granted].join(", ") || "none";
    audit.record({
      action: "policy.denied",
      principal: principal.id,
      outcome: "denied",
      request: `tool.${name}`,
      policy: policy.name,
      what: "tools",
      limit: allowed,
    });
    const refusal = new PolicyDeniedError(
      "tools",
      allowed,
      `policy "${policy.name}" (rule tools) does not allow the tool ${name}; the tools it allows: ${allowed}. Ask the operator if you need it.`,
      policy.name,
    );
    // A task-augmented call expects a task, not a tool result: the refusal is the request's error.
    if (request.params.task) throw new McpError(ErrorCode.InvalidRequest, `POLICY_DENIED: ${refusal.message}`);
    return toolFailure(refusal);
  });
}
