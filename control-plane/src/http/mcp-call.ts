/** How a POST to /mcp shows up in traces and logs: its JSON-RPC method and, for tools/call, the tool's name. */
export interface McpCallDescription {
  spanName: string;
  tool: string | undefined;
  attributes: Record<string, string>;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Describes a parsed POST body (a request, a notification, a response, or a batch); names are cut to 100 characters. */
export function describeMcpCall(body: unknown): McpCallDescription {
  if (!isRecord(body) || typeof body.method !== "string")
    return { spanName: Array.isArray(body) ? "mcp batch" : "mcp message", tool: undefined, attributes: {} };
  const method = body.method.slice(0, 100);
  const name =
    method === "tools/call" && isRecord(body.params) && typeof body.params.name === "string"
      ? body.params.name.slice(0, 100)
      : undefined;
  return {
    spanName: name ? `mcp tools/call ${name}` : `mcp ${method}`,
    tool: name,
    attributes: { "mcp.method.name": method, ...(name ? { "gen_ai.tool.name": name } : {}) },
  };
}
