import { AGENT_ENV } from "@devhatchery/proto/contract";
import { loadAgentConfig } from "./config.js";
import { createLogger } from "./log.js";
import { startAgentServer } from "./server.js";
import { readStdinToken } from "./stdin-token.js";

/**
 * Composition root: token → config → server → listen; drains on SIGTERM/SIGINT. The token comes from stdin (the
 * control plane writes it there at every start) unless the environment sets it (tests, agents run by hand).
 */
async function main(): Promise<void> {
  const env = process.env[AGENT_ENV.token]
    ? process.env
    : { ...process.env, [AGENT_ENV.token]: await readStdinToken(process.stdin) };
  const config = loadAgentConfig(env);
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

main().catch((error: unknown) => {
  // Token and configuration errors happen before the logger exists; report them on stderr as one JSON line.
  process.stderr.write(
    `${JSON.stringify({ level: "fatal", service: "runner-agent", msg: (error as Error).message })}\n`,
  );
  process.exit(1);
});
