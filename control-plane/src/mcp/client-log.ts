import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { LoggingLevel } from "@modelcontextprotocol/sdk/types.js";

export const CLIENT_LOGGER_NAME = "devhatchery";

/**
 * Tells the session's client about a notable event (a runner became ready, …) with `notifications/message`,
 * at the level the client asked for with `logging/setLevel` (everything until it asks). Never throws.
 */
export type ClientLog = (level: LoggingLevel, message: string, fields?: Record<string, unknown>) => void;

export function createClientLog(server: McpServer): ClientLog {
  return (level, message, fields = {}) => {
    if (!server.isConnected()) return;
    // Levels are kept per transport session id by the SDK's logging/setLevel handler.
    const sessionId = server.server.transport?.sessionId;
    void server.server
      .sendLoggingMessage({ level, logger: CLIENT_LOGGER_NAME, data: { message, ...fields } }, sessionId)
      .catch(() => undefined);
  };
}
