import type { ToolTaskHandler } from "@modelcontextprotocol/sdk/experimental/tasks";
import type { McpServer, RegisteredTool } from "@modelcontextprotocol/sdk/server/mcp.js";
import {
  CallToolRequestSchema,
  ErrorCode,
  McpError,
  type CallToolRequest,
  type CallToolResult,
  type ToolAnnotations,
} from "@modelcontextprotocol/sdk/types.js";
import { z } from "zod";
import { ControlPlaneError } from "../errors.js";
import type { ToolExtra } from "./progress.js";
import { toolFailure } from "./tool-result.js";

type Shape = z.ZodRawShape;

/** Build it once per process (a module constant), so every session's server shares its schemas. */
export interface OptionalTaskToolConfig<Input extends Shape> {
  title: string;
  description: string;
  inputSchema: z.ZodObject<Input>;
  outputSchema: z.ZodObject;
  annotations: ToolAnnotations;
}

export interface OptionalTaskHandlers<Input extends Shape> {
  /** A call without the `task` parameter: runs in the request, progress and all, exactly like a registerTool tool. */
  plain: (args: z.infer<z.ZodObject<Input>>, extra: ToolExtra) => Promise<CallToolResult>;
  /** A task-augmented call: returns the task at once. */
  task: ToolTaskHandler<Input>;
}

type RequestHandler = (request: CallToolRequest, extra: ToolExtra) => Promise<unknown>;

/**
 * Registers a tool with `execution.taskSupport: "optional"`. The SDK (1.32) runs a plain call of such a tool by
 * creating a task anyway and polling the task store every pollInterval: plain calls would lose their progress
 * notifications and output validation, pay up to a poll interval of latency and leave task records the caller never
 * asked for. So the SDK handles task-augmented calls, and plain calls of this tool are routed to `plain` by a thin
 * wrapper around the server's tools/call handler (every other call goes to the SDK's handler untouched).
 * Waits for: docs/adr/upstream/mcp-sdk-optional-task-plain-calls.md (no upstream issue yet); the SDK is pinned
 * exactly in control-plane/package.json, so an upgrade re-checks this on purpose.
 */
export function registerOptionalTaskTool<Input extends Shape>(
  server: McpServer,
  name: string,
  config: OptionalTaskToolConfig<Input>,
  handlers: OptionalTaskHandlers<Input>,
): RegisteredTool {
  // The SDK types a task handler's arguments only for a raw shape (SDK 1.32), so it gets the shape, which it wraps in an
  // object schema of its own for this session; plain calls validate with the shared schemas.
  const sdkConfig = {
    ...config,
    inputSchema: config.inputSchema.shape,
    execution: { taskSupport: "optional" as const },
  };
  const tool = server.experimental.tasks.registerToolTask(name, sdkConfig, handlers.task);
  const sdkHandler = sdkCallToolHandler(server);
  const { inputSchema: input, outputSchema: output } = config;
  server.server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
    if (request.params.name !== name || request.params.task || !tool.enabled)
      return (await sdkHandler(request, extra)) as CallToolResult;
    const args = await input.safeParseAsync(request.params.arguments ?? {});
    if (!args.success) {
      return toolFailure(
        new ControlPlaneError("INVALID_ARGUMENT", `Invalid arguments for tool ${name}: ${z.prettifyError(args.error)}`),
      );
    }
    const result = await handlers.plain(args.data, extra);
    if (!result.isError && !output.safeParse(result.structuredContent).success) {
      throw new McpError(
        ErrorCode.InternalError,
        `Tool ${name} produced structured content that does not match its output schema`,
      );
    }
    return result;
  });
  return tool;
}

/** The tools/call handler installed last (McpServer's own, or a wrapper of it). */
export function sdkCallToolHandler(server: McpServer): RequestHandler {
  return installedHandler(server, "tools/call") as RequestHandler;
}

/** The handler installed last for a request method, to wrap it. */
export function installedHandler(
  server: McpServer,
  method: string,
): (request: never, extra: never) => Promise<unknown> {
  // Protocol keeps handlers in a private map and offers no getter; reading it is the price of not re-implementing
  // McpServer's handlers. Checked here so an SDK that renames it fails at start-up, not on a call.
  const handlers: unknown = (server.server as unknown as { _requestHandlers?: unknown })._requestHandlers;
  const handler = handlers instanceof Map ? (handlers.get(method) as unknown) : undefined;
  if (typeof handler !== "function")
    throw new Error(
      `The MCP SDK's ${method} handler was not found; the request routing needs updating for this SDK version.`,
    );
  return handler as (request: never, extra: never) => Promise<unknown>;
}
