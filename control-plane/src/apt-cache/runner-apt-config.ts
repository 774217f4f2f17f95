import type { AgentClient } from "../agent-client/agent-client.js";

/** The apt configuration file DevHatchery writes into runners; remove it to stop using the cache. */
export const APT_CONF_PATH = "/etc/apt/apt.conf.d/00devhatchery-apt-cache";
/** The program apt asks which proxy to use (Acquire::http::Proxy-Auto-Detect), once per repository host. */
export const APT_DETECT_PATH = "/etc/apt/devhatchery-apt-proxy";

/**
 * The detect program: the cache when it answers within a second, else DIRECT. So apt keeps working when the runner
 * outlives the control plane's cache (a snapshot spawned by another server, the cache turned off).
 */
export function aptDetectScript(endpoint: { host: string; port: number }): string {
  const { host, port } = endpoint;
  return [
    "#!/bin/sh",
    "# Written by DevHatchery: apt downloads through the control plane's apt cache while it answers, directly otherwise.",
    `# Delete this file and ${APT_CONF_PATH} to stop using it.`,
    `if timeout 1 bash -c 'exec 3<>/dev/tcp/${host}/${port}' 2>/dev/null; then echo http://${host}:${port}; else echo DIRECT; fi`,
    "",
  ].join("\n");
}

export const APT_CONF = [
  "// Written by DevHatchery: ask the control plane's apt cache (see the program below) for http repositories.",
  "// An image's own Acquire::http::Proxy setting wins over this.",
  `Acquire::http::Proxy-Auto-Detect "${APT_DETECT_PATH}";`,
  "",
].join("\n");

/** Writes the detect program and the apt configuration when the runner has apt (/etc/apt/apt.conf.d); false when not. */
export async function configureRunnerApt(
  client: AgentClient,
  endpoint: { host: string; port: number },
): Promise<boolean> {
  const folder = await client.fs.stat("/etc/apt/apt.conf.d").catch(() => undefined);
  if (!folder) return false;
  await client.fs.write(APT_DETECT_PATH, Buffer.from(aptDetectScript(endpoint)), { createParents: false, mode: 0o755 });
  await client.fs.write(APT_CONF_PATH, Buffer.from(APT_CONF), { createParents: false, mode: 0o644 });
  return true;
}
