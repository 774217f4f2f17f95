import type { McpServer, RegisteredTool } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { CallToolResult, ToolAnnotations } from "@modelcontextprotocol/sdk/types.js";
import type { z } from "zod";
import type { ToolExtra } from "./progress.js";
import { toolFailure } from "./tool-result.js";

/** The four behaviour hints every tool states outright, so none is left to a client's default. */
export type ToolBehaviour = Required<
  Pick<ToolAnnotations, "readOnlyHint" | "destructiveHint" | "idempotentHint" | "openWorldHint">
>;

/** What a tool shows the client: built once per process (a module constant), shared by every session's server. */
export interface ToolDefinition<Input extends z.ZodObject> {
  title: string;
  description: string;
  inputSchema: Input;
  outputSchema: z.ZodObject;
  annotations: ToolBehaviour;
}

/** A tool's work: returns its success result (toolSuccess) and throws on failure. */
export type ToolHandler<Input extends z.ZodObject> = (
  args: z.output<Input>,
  extra: ToolExtra,
) => Promise<CallToolResult>;

/**
 * Registers a tool whose handler throws on failure: whatever it throws becomes the failed result the model acts on
 * (toolFailure: the code, the message and the raise site's recovery hint). The one place a tool's failure is mapped.
 */
export function registerTool<Input extends z.ZodObject>(
  server: McpServer,
  name: string,
  tool: ToolDefinition<Input>,
  handler: ToolHandler<Input>,
): RegisteredTool {
  // The SDK parses the arguments with tool.inputSchema before the callback runs, so they are that schema's output; its
  // callback type is conditional on the schema and cannot be resolved for a generic one (SDK 1.32).
  return server.registerTool<z.ZodObject, z.ZodObject>(name, tool, (args, extra) =>
    settleTool(() => handler(args as z.output<Input>, extra)),
  );
}

/** Runs a tool's work and returns its result, or the failed result for what it threw (also for tools registered otherwise). */
export async function settleTool(work: () => Promise<CallToolResult>): Promise<CallToolResult> {
  try {
    return await work();
  } catch (error) {
    return toolFailure(error);
  }
}
