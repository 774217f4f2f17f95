#!/usr/bin/env node
import { serve } from "@hono/node-server";
import { runCli } from "./cli/run-cli.js";
import type { ControlPlaneConfig } from "./config.js";
import { createControlPlane } from "./control-plane.js";
import { ControlPlaneError } from "./errors.js";
import { createLogger } from "./log.js";
import { VERSION } from "./version.js";

/** After the grace period, how long closing connections and the store may take before the process exits anyway. */
const SHUTDOWN_SLACK_MS = 5_000;

/** `devhatchery serve`: listens until SIGTERM or SIGINT, then stops gracefully and exits 0; runners keep running. */
function startServer(config: ControlPlaneConfig): void {
  const log = createLogger(config.logLevel);
  const controlPlane = createControlPlane(config, log);

  controlPlane.runtime.engine
    .ping()
    .catch((error: unknown) => log.warn({ err: error }, "Docker is not reachable yet; runner tools fail until it is"));

  const server = serve(
    { fetch: controlPlane.app.fetch, hostname: config.listen.host, port: config.listen.port },
    (info) => {
      log.info(
        {
          host: info.address,
          port: info.port,
          auth: config.auth.mode,
          version: VERSION,
          url: `http://${config.listen.host}:${info.port}/mcp`,
        },
        "control plane listening",
      );
    },
  );
  server.on("error", (error) => {
    log.fatal({ err: error }, "cannot listen");
    process.exit(1);
  });

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal, graceMs: config.shutdownGraceMs }, "shutting down; runners keep running");
    setTimeout(() => process.exit(0), config.shutdownGraceMs + SHUTDOWN_SLACK_MS).unref();
    // Shut the control plane down first: requests arriving meanwhile get 503 instead of a refused connection.
    controlPlane
      .shutdown(config.shutdownGraceMs)
      .catch((error: unknown) => log.error({ err: error }, "graceful shutdown failed"))
      .finally(() => server.close(() => process.exit(0)));
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

/** Composition root: the only place that reads the environment and starts listening; `devhatchery` with no command serves. */
runCli(process.argv.slice(2), {
  out: (text) => process.stdout.write(text),
  err: (text) => process.stderr.write(text),
  env: process.env,
  serve: startServer,
}).then(
  (code) => {
    if (code !== undefined) process.exitCode = code;
  },
  (error: unknown) => {
    // A ControlPlaneError (a ConfigError too) already says what failed and how to fix it; only the unexpected needs a stack.
    const text = error instanceof ControlPlaneError ? error.message : ((error as Error).stack ?? String(error));
    process.stderr.write(`devhatchery: ${text}\n`);
    process.exit(1);
  },
);
