import { AgentError } from "../errors.js";

const SUMMARY_MAX_CHARS = 200;

/** The argv to run for a request with exactly one of `argv` or `shell` (`/bin/sh -lc <shell>`). */
export function toCommandLine(argv: string[], shell: string): string[] {
  const hasArgv = argv.length > 0;
  const hasShell = shell.length > 0;
  if (hasArgv === hasShell) {
    throw new AgentError(
      "INVALID_ARGUMENT",
      "Set exactly one of argv (a program and its arguments) or shell (a command string).",
    );
  }
  if (hasShell) return ["/bin/sh", "-lc", shell];
  if (!argv[0]) throw new AgentError("INVALID_ARGUMENT", 'argv[0] must name a program, e.g. ["ls", "-la"].');
  return argv;
}

/** The command for display in lists: the shell string or argv joined by spaces, cut with "…" when long. */
export function summarizeCommand(argv: string[], shell: string): string {
  const text = shell || argv.join(" ");
  return text.length > SUMMARY_MAX_CHARS ? `${text.slice(0, SUMMARY_MAX_CHARS - 1)}…` : text;
}
