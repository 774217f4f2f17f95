import { AGENT_ENV } from "@devhatchery/proto/contract";
import { loadAgentConfig } from "./config.js";
import { createLogger } from "./log.js";
import { startAgentServer } from "./server.js";

/** Composition root: config → server → listen; drains on SIGTERM/SIGINT. */
function main(): void {
  const config = loadAgentConfig(process.env);
  // The token must never reach processes the agent starts (they inherit process.env).
  delete process.env[AGENT_ENV.token];
  const log = createLogger(config.logLevel);

  startAgentServer({ ...config, debugPort: config.debugPort || undefined, log }).then(
    (server) => {
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        log.info({ signal }, "shutting down");
        server.shutdown().then(
          () => process.exit(0),
          (error: unknown) => {
            log.error({ err: error }, "shutdown failed");
            process.exit(1);
          },
        );
      };
      process.on("SIGTERM", () => stop("SIGTERM"));
      process.on("SIGINT", () => stop("SIGINT"));
    },
    (error: unknown) => {
      log.fatal({ err: error }, "runner agent failed to start");
      process.exit(1);
    },
  );
}

try {
  main();
} catch (error) {
  // Configuration errors happen before the logger exists; report them on stderr as one JSON line.
  process.stderr.write(`${JSON.stringify({ level: "fatal", service: "runner-agent", msg: (error as Error).message })}\n`);
  process.exit(1);
}
