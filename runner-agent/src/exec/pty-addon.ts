import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

/** The native half of node-pty (an N-API addon): forks a program on a new pseudo-terminal. */
export interface PtyAddon {
  fork(
    file: string,
    args: string[],
    env: string[],
    cwd: string,
    cols: number,
    rows: number,
    uid: number,
    gid: number,
    utf8: boolean,
    helperPath: string,
    onExit: (exitCode: number, signal: number) => void,
  ): { fd: number; pid: number; pty: string };
  resize(fd: number, cols: number, rows: number): void;
}

/** The file name the agent bundle ships the addon under, next to agent.cjs (see scripts/bundle.mjs). */
export const PTY_ADDON_FILE = `node-pty-${process.platform}-${process.arch}.node`;
/** The npm package holding the prebuilt addon for this platform (a development install has it). */
const PTY_ADDON_PACKAGE = `@lydell/node-pty-${process.platform}-${process.arch}/pty.node`;

let loaded: PtyAddon | Error | undefined;

/** Loads the addon once: from beside the agent bundle, else from node_modules; an Error says why neither worked. */
export function loadPtyAddon(): PtyAddon | Error {
  loaded ??= tryLoad();
  return loaded;
}

function tryLoad(): PtyAddon | Error {
  const require = createRequire(import.meta.url);
  const problems: string[] = [];
  for (const candidate of [fileURLToPath(new URL(PTY_ADDON_FILE, import.meta.url)), PTY_ADDON_PACKAGE]) {
    try {
      return require(candidate) as PtyAddon;
    } catch (error) {
      problems.push(`${candidate}: ${(error as Error).message.split("\n")[0]}`);
    }
  }
  return new Error(`no pty addon for ${process.platform}-${process.arch} (${problems.join("; ")})`);
}
