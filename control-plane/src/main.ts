#!/usr/bin/env node
import { serve } from "@hono/node-server";
import { loadConfig } from "./config.js";
import { createControlPlane } from "./control-plane.js";
import { createLogger } from "./log.js";
import { VERSION } from "./version.js";

const SHUTDOWN_GRACE_MS = 10_000;

/** Composition root: the only place that reads the environment and starts listening. */
function main(): void {
  const config = loadConfig(process.env);
  const log = createLogger(config.logLevel);
  const controlPlane = createControlPlane(config, log);

  controlPlane.runtime.ping().catch((error: unknown) => log.warn({ err: error }, "Docker is not reachable yet; runner tools fail until it is"));

  const server = serve({ fetch: controlPlane.app.fetch, hostname: config.listen.host, port: config.listen.port }, (info) => {
    log.info(
      { host: info.address, port: info.port, auth: config.auth.mode, version: VERSION, url: `http://${config.listen.host}:${info.port}/mcp` },
      "control plane listening",
    );
  });
  server.on("error", (error) => {
    log.fatal({ err: error }, "cannot listen");
    process.exit(1);
  });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "shutting down; runners keep running");
    const force = setTimeout(() => process.exit(0), SHUTDOWN_GRACE_MS).unref();
    server.close(() => {
      clearTimeout(force);
      process.exit(0);
    });
    void controlPlane.close();
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

try {
  main();
} catch (error) {
  // Configuration errors come before the logger exists: say what is wrong plainly and exit non-zero.
  process.stderr.write(`devhatchery: ${(error as Error).message}\n`);
  process.exit(1);
}
