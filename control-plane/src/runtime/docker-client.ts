import Docker from "dockerode";

/** A dockerode client for `dockerHost` (unix:///path, tcp://host:port, http(s)://…), or Docker's own default when undefined. */
export function createDockerClient(dockerHost: string | undefined, options: { timeoutMs?: number } = {}): Docker {
  const timeout = options.timeoutMs === undefined ? {} : { timeout: options.timeoutMs };
  if (!dockerHost) return new Docker(timeout);
  const url = new URL(dockerHost);
  if (url.protocol === "unix:") return new Docker({ socketPath: url.pathname, ...timeout });
  const protocol = url.protocol === "https:" ? "https" : "http";
  return new Docker({
    protocol,
    host: url.hostname,
    port: Number(url.port || (protocol === "https" ? 2376 : 2375)),
    ...timeout,
  });
}
