import { spawn, type ChildProcess } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../control-plane/dist/main.js", import.meta.url));

/** The offline runner image built by images/build-test-images.sh. */
export const TEST_RUNNER_IMAGE = "devhatchery-test/runner:dev";

export interface ControlPlaneProcess {
  url: string;
  /** The port it listens on: pass it as DEVHATCHERY_LISTEN_PORT to start a successor on the same address. */
  port: number;
  /** Its process id (read /proc/<pid>/status to measure its memory). */
  pid: number;
  /** Its state folder (DEVHATCHERY_STATE_DIR): the caller's, or a fresh temporary one removed by stop() and kill(). */
  stateDir: string;
  /** Every log line the process wrote so far. */
  logs(): string;
  /** SIGTERM, then waits for the exit; resolves with the exit code. */
  stop(): Promise<number | null>;
  /** SIGKILL, as a crash: no shutdown work at all; resolves once the process is gone. */
  kill(): Promise<void>;
}

/**
 * Starts the real, built control plane (`node control-plane/dist/main.js`) on an ephemeral loopback port (unless
 * `env` names one) and resolves once it logs that it listens. Without DEVHATCHERY_STATE_DIR in `env` it gets a
 * state folder of its own, so tests never share a state store.
 */
export async function startControlPlane(env: Record<string, string>): Promise<ControlPlaneProcess> {
  const ownStateDir =
    env.DEVHATCHERY_STATE_DIR === undefined ? await mkdtemp(join(tmpdir(), "devhatchery-e2e-state-")) : undefined;
  const stateDir = ownStateDir ?? (env.DEVHATCHERY_STATE_DIR as string);
  const removeOwnStateDir = async (): Promise<void> => {
    if (ownStateDir) await rm(ownStateDir, { recursive: true, force: true });
  };
  return startProcess({ DEVHATCHERY_STATE_DIR: stateDir, ...env }, stateDir, removeOwnStateDir).catch(
    async (error: unknown) => {
      await removeOwnStateDir();
      throw error;
    },
  );
}

function startProcess(
  env: Record<string, string>,
  stateDir: string,
  removeOwnStateDir: () => Promise<void>,
): Promise<ControlPlaneProcess> {
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
  let listening = false;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`control plane did not start within 15 s:\n${output}`));
    }, 15_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = listening ? null : /"port":(\d+).*"msg":"control plane listening"/.exec(output);
      if (!match) return;
      listening = true;
      clearTimeout(timer);
      const exited = new Promise<number | null>((done) => {
        if (child.exitCode !== null || child.signalCode !== null) done(child.exitCode);
        else child.once("exit", (code) => done(code));
      });
      const end = async (signal: NodeJS.Signals): Promise<number | null> => {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        const code = await exited;
        await removeOwnStateDir();
        return code;
      };
      resolve({
        url: `http://127.0.0.1:${match[1]}/mcp`,
        port: Number(match[1]),
        pid: child.pid as number,
        stateDir,
        logs: () => output,
        stop: () => end("SIGTERM"),
        kill: async () => void (await end("SIGKILL")),
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
