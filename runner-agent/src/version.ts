/** The agent's version (kept equal to runner-agent/package.json by a test; the bundle has no package.json). */
export const AGENT_VERSION = "0.1.0";
