import type { AuditLog } from "../../audit.js";
import { asControlPlaneError } from "../../errors.js";
import type { ExecOutcomeLabel, Meter } from "../../meter.js";
import { redactText } from "../../secret-redaction.js";
import type { ExecCommand, ExecExit, ExecOutcome } from "./exec.js";

/** Processes returned still running whose end is recorded when a read first sees it; the oldest are forgotten past this. */
const MAX_PENDING_ENDS = 10_000;

/** `NAME=value` words a shell command may start with (they set the environment of the program after them). */
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
/** Characters that end a word and a shell's simple command: lists, pipes, subshells, redirections. */
const SHELL_OPERATORS = new Set([";", "&", "|", "(", ")", "<", ">"]);

/**
 * The program a shell command line runs first: its first word that is not an assignment, with quotes and escapes
 * removed and shell operators as separators (`id; touch /x` runs "id"). No expansion: enough to name it in the audit.
 */
function shellProgram(line: string): string {
  let word: string | undefined;
  let quote: string | undefined;
  const endWord = (): string | undefined => {
    const ended = word;
    word = undefined;
    return ended !== undefined && !ASSIGNMENT.test(ended) ? ended : undefined;
  };
  for (let index = 0; index < line.length; index++) {
    const char = line[index]!;
    if (quote !== undefined) {
      if (char === quote) {
        quote = undefined;
        continue;
      }
      // In double quotes a backslash escapes only " \ $ and `; before anything else it is kept.
      const escaped = char === "\\" && quote === '"' && '"\\$`'.includes(line[index + 1] ?? "x");
      word = (word ?? "") + (escaped ? line[++index]! : char);
    } else if (char === "'" || char === '"') {
      quote = char;
      word ??= "";
    } else if (char === "\\") {
      word = (word ?? "") + (line[++index] ?? "");
    } else if (/\s/.test(char) || SHELL_OPERATORS.has(char)) {
      const program = endWord();
      if (program !== undefined) return program;
    } else {
      word = (word ?? "") + char;
    }
  }
  return endWord() ?? "";
}

/** What the audit log records instead of a first word that does not look like a program name. */
export const REDACTED_PROGRAM = "(redacted)";
/** A program's file name: letters, digits and `._+-`, at most 64 characters (or `[`, the test builtin). */
const PROGRAM_NAME = /^(?:[A-Za-z0-9_][A-Za-z0-9_.+-]{0,63}|\[)$/;
/** Prefixes of well-known credentials (GitHub, GitLab, Slack, OpenAI/Stripe, AWS, Google, npm, PyPI, Hugging Face). */
const TOKEN_PREFIX =
  /^(?:gh[pousr]_|github_pat_|glpat-|xox[abposr]-|sk-|sk_|rk_|pk_|AKIA|ASIA|AIza|ya29\.|npm_|pypi-|hf_|dop_v1_|SG\.|eyJ)/;

/** True when a segment between `._+-` is long and mixes letters with several digits, as generated secrets do. */
function hasRandomLookingSegment(name: string): boolean {
  return name
    .split(/[._+-]/)
    .some((segment) => segment.length >= 12 && /[A-Za-z]/.test(segment) && (segment.match(/[0-9]/g)?.length ?? 0) >= 3);
}

/**
 * The first word when it looks like a program name, else REDACTED_PROGRAM: a command may start with a secret
 * (`ghp_… --help`, a pasted password), and the audit log keeps it for as long as the operator keeps logs.
 */
function programName(word: string): string {
  const name = word.split("/").pop()!;
  if (name === "") return "";
  const looksLikeProgram =
    PROGRAM_NAME.test(name) && !TOKEN_PREFIX.test(name) && !hasRandomLookingSegment(name) && redactText(name) === name;
  return looksLikeProgram ? name : REDACTED_PROGRAM;
}

/**
 * What the audit log keeps of a command: never its arguments (they may hold secrets), only the program (the first
 * word that is not a `NAME=value` assignment, unquoted, without its directory, when it looks like a program name;
 * REDACTED_PROGRAM otherwise), how it was
 * given, the command line's length, the cwd and the names (not values) of the environment variables passed.
 */
export function summarizeCommand(command: ExecCommand): Record<string, unknown> {
  const first =
    typeof command.command === "string"
      ? shellProgram(command.command)
      : (command.command.find((word) => !ASSIGNMENT.test(word)) ?? "");
  const program = programName(first);
  const length = typeof command.command === "string" ? command.command.length : command.command.join(" ").length;
  return {
    command_kind: typeof command.command === "string" ? "shell" : "argv",
    program,
    command_length: length,
    cwd: command.cwd ?? "",
    env_names: Object.keys(command.env ?? {}),
  };
}

/** How a process ended, as a bounded metric label. */
export function execOutcomeLabel(exit: ExecExit): ExecOutcomeLabel {
  if (exit.reason === "exited") return exit.exitCode === 0 ? "success" : "nonzero_exit";
  return exit.reason;
}

/** Records exec.start and exec.end (metadata only) and counts outcomes, durations and output bytes. */
export class ExecAudit {
  private readonly pendingEnds = new Map<string, { principal: string; runner: string }>();

  constructor(
    private readonly audit: AuditLog,
    private readonly meter: Meter,
  ) {}

  started(principal: string, runner: string, command: ExecCommand): void {
    this.audit.record({ action: "exec.start", principal, outcome: "ok", runner, ...summarizeCommand(command) });
  }

  /** An exec call returned: the process ended (recorded now) or still runs (recorded when a read sees its end). */
  returned(principal: string, runner: string, outcome: ExecOutcome): void {
    this.meter.bytesStreamed("from_runner", outcome.nextCursor);
    if (outcome.exit) return this.ended(principal, runner, outcome.execId, outcome.exit);
    this.pendingEnds.set(`${runner}/${outcome.execId}`, { principal, runner });
    if (this.pendingEnds.size > MAX_PENDING_ENDS) this.pendingEnds.delete(this.pendingEnds.keys().next().value!);
  }

  failed(principal: string, runner: string, error: unknown): void {
    this.meter.execEnded("error", undefined);
    this.audit.record({
      action: "exec.end",
      principal,
      outcome: "failed",
      runner,
      code: asControlPlaneError(error).code,
    });
  }

  /** A read returned output of a process (and, once it ended, its exit). */
  read(runner: string, execId: string, bytes: number, exit: ExecExit | null): void {
    this.meter.bytesStreamed("from_runner", bytes);
    const pending = exit ? this.pendingEnds.get(`${runner}/${execId}`) : undefined;
    if (pending && exit) {
      this.pendingEnds.delete(`${runner}/${execId}`);
      this.ended(pending.principal, runner, execId, exit);
    }
  }

  private ended(principal: string, runner: string, execId: string, exit: ExecExit): void {
    this.meter.execEnded(execOutcomeLabel(exit), exit.durationMs);
    this.audit.record({
      action: "exec.end",
      principal,
      outcome: "ok",
      runner,
      exec: execId,
      reason: exit.reason,
      exit_code: exit.exitCode,
      signal: exit.signal,
      duration_ms: exit.durationMs,
    });
  }
}
