import { spawn, type ChildProcess } from "node:child_process";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../control-plane/dist/main.js", import.meta.url));

/** The offline runner image built by images/build-test-images.sh. */
export const TEST_RUNNER_IMAGE = "devhatchery-test/runner:dev";

export interface ControlPlaneProcess {
  url: string;
  /** Every log line the process wrote so far. */
  logs(): string;
  stop(): Promise<number | null>;
}

/**
 * Starts the real, built control plane (`node control-plane/dist/main.js`) on an ephemeral loopback port
 * and resolves once it logs that it listens.
 */
export function startControlPlane(env: Record<string, string>): Promise<ControlPlaneProcess> {
  const child: ChildProcess = spawn(process.execPath, [MAIN], {
    env: {
      // The machine's environment (npm's CA and proxy settings included: injected runners run `npm pack`), without
      // any DEVHATCHERY_* setting of the developer's shell, then the test's own settings.
      ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("DEVHATCHERY_"))),
      DEVHATCHERY_LISTEN_PORT: "0",
      DEVHATCHERY_DEFAULT_IMAGE: TEST_RUNNER_IMAGE,
      DEVHATCHERY_LOG_LEVEL: "info",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`control plane did not start within 15 s:\n${output}`));
    }, 15_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /"port":(\d+).*"msg":"control plane listening"/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      resolve({
        url: `http://127.0.0.1:${match[1]}/mcp`,
        logs: () => output,
        stop: () =>
          new Promise((done) => {
            if (child.exitCode !== null) return done(child.exitCode);
            child.once("exit", (code) => done(code));
            child.kill("SIGTERM");
          }),
      });
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`control plane exited with code ${code} before listening:\n${output}`));
    });
  });
}
