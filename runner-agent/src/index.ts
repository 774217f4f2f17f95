export { loadAgentConfig, type AgentConfig } from "./config.js";
export { createLogger } from "./log.js";
export { startAgentServer, type AgentServer, type AgentServerOptions } from "./server.js";
