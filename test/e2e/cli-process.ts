import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

const MAIN = fileURLToPath(new URL("../../control-plane/dist/main.js", import.meta.url));

/** The machine's environment without any DEVHATCHERY_* setting of the developer's shell, plus the test's own. */
export function cliEnv(env: Record<string, string> = {}): NodeJS.ProcessEnv {
  return {
    ...Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith("DEVHATCHERY_"))),
    ...env,
  };
}

/** Runs the built `devhatchery` CLI (`node control-plane/dist/main.js <args>`) to completion, within `timeoutMs`. */
export function runDevhatchery(
  args: string[],
  env: Record<string, string> = {},
  timeoutMs = 60_000,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [MAIN, ...args], { env: cliEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`devhatchery ${args.join(" ")} did not finish within ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.once("exit", (code) => {
      clearTimeout(timer);
      // Let the pipes drain: "exit" can come before the last chunk.
      setImmediate(() => resolve({ code, stdout, stderr }));
    });
  });
}

/** Starts `devhatchery <args>` as a server and resolves once it logs that it listens (within 15 s). */
export function startDevhatcheryServer(
  args: string[],
  env: Record<string, string> = {},
): Promise<{ url: string; stop(): Promise<number | null> }> {
  const child = spawn(process.execPath, [MAIN, ...args], { env: cliEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`devhatchery ${args.join(" ")} did not listen within 15 s:\n${output}`));
    }, 15_000);
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const match = /"port":(\d+).*"msg":"control plane listening"/.exec(output);
      if (!match) return;
      clearTimeout(timer);
      const stop = (): Promise<number | null> =>
        new Promise((done) => {
          if (child.exitCode !== null) return done(child.exitCode);
          child.once("exit", (code) => done(code));
          child.kill("SIGTERM");
        });
      resolve({ url: `http://127.0.0.1:${match[1]}/mcp`, stop });
    };
    child.stdout.on("data", onData);
    child.stderr.on("data", onData);
    child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`devhatchery ${args.join(" ")} exited with code ${code} before listening:\n${output}`));
    });
  });
}
