import type { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { McpError, type CallToolResult } from "@modelcontextprotocol/sdk/types.js";
import { textOf } from "./mcp-client.js";
import { jsonRpcMessages, type RawResponse } from "./raw-mcp-http.js";

/** What the control plane did with a hostile input. */
export type Outcome =
  | { kind: "tool"; isError: boolean; text: string; payload: string }
  | { kind: "rpc-error"; code: number; message: string }
  | { kind: "success"; payload: string }
  | { kind: "http"; status: number; body: string; error?: string }
  | { kind: "thrown"; message: string };

/**
 * The refusal a row expects. `tool`: a tool result with isError and text "Error CODE: …" (or "MCP error -32602: …"
 * for schema validation) containing `text`; `rpc`: a JSON-RPC error; `http`: a status, a body containing `text` and,
 * when given, a JSON-RPC error code; `reveals`: a success whose payload names none of these strings;
 * `sameAs`: a refusal whose text equals what `reference()` returns once each row's own input is masked.
 */
export type Expected =
  | { tool: { code: string; text: string | RegExp } }
  | { rpc: { code: number; text: string | RegExp } }
  | { http: { status: number; text: string | RegExp; rpcCode?: number } }
  | { reveals: string[] }
  | { sameAs: { input: string; reference: () => { input: string; outcome: Outcome | undefined } } };

/** One row of the matrix: what is sent, and how it must be refused. */
export interface Row {
  /** The table it comes from, e.g. "foreign runner", "wrong type". */
  group: string;
  name: string;
  /** The tool or MCP method it exercises, for the coverage checks. */
  target: string;
  send: () => Promise<Outcome>;
  expected: Expected;
  /** The defect this row was written for (found by attacking or reviewing the control plane); printed when it breaks. */
  guards?: string;
  /** The row may leave the server's heap grown even when it is refused: it runs after the others. */
  heavy?: boolean;
  /**
   * Bytes of body the server reads and drops to answer this row (a refused body is drained so its client reads the
   * 413): dropped bytes pass through the allocator once, so the RSS may rise by about that much before it is reused.
   */
  dropsBytes?: number;
}

/** Calls a tool and records what came back; a protocol-level error is an outcome too. */
export async function toolOutcome(client: Client, name: string, args: unknown): Promise<Outcome> {
  return rpcOutcome(async () => {
    const result = (await client.callTool({ name, arguments: args as Record<string, unknown> }, undefined, {
      timeout: 60_000,
    })) as CallToolResult;
    return { kind: "tool", isError: result.isError === true, text: textOf(result), payload: JSON.stringify(result) };
  });
}

/** Runs an MCP request; success is recorded with its payload, a JSON-RPC error with its code and message. */
export async function rpcOutcome(call: () => Promise<Outcome | unknown>): Promise<Outcome> {
  try {
    const value = await call();
    if (value !== null && typeof value === "object" && "kind" in value) return value as Outcome;
    return { kind: "success", payload: JSON.stringify(value) };
  } catch (error) {
    if (error instanceof McpError) return { kind: "rpc-error", code: error.code, message: error.message };
    return { kind: "thrown", message: error instanceof Error ? error.message : String(error) };
  }
}

export function httpOutcome(response: RawResponse): Outcome {
  return {
    kind: "http",
    status: response.status,
    body: response.body,
    ...(response.error === undefined ? {} : { error: response.error }),
  };
}

const matches = (text: string, wanted: string | RegExp): boolean =>
  typeof wanted === "string" ? text.includes(wanted) : wanted.test(text);

/** The text of a refusal, whatever its kind, for `sameAs` comparisons. */
function refusalText(outcome: Outcome): string | undefined {
  if (outcome.kind === "tool") return outcome.isError ? outcome.text : undefined;
  if (outcome.kind === "rpc-error") return `${outcome.code} ${outcome.message}`;
  return undefined;
}

/** Why the outcome is not the expected refusal, or undefined when it is. */
export function verdict(expected: Expected, outcome: Outcome): string | undefined {
  if ("tool" in expected) {
    if (outcome.kind !== "tool" || !outcome.isError) return "not refused";
    const prefix = expected.tool.code.startsWith("-")
      ? `MCP error ${expected.tool.code}: `
      : `Error ${expected.tool.code}: `;
    if (!outcome.text.startsWith(prefix)) return `refused with another code (wanted ${prefix.trim()})`;
    return matches(outcome.text, expected.tool.text)
      ? undefined
      : `refused without the expected text ${String(expected.tool.text)}`;
  }
  if ("rpc" in expected) {
    if (outcome.kind !== "rpc-error") return "not refused with a JSON-RPC error";
    if (outcome.code !== expected.rpc.code) return `JSON-RPC error ${outcome.code} instead of ${expected.rpc.code}`;
    return matches(outcome.message, expected.rpc.text)
      ? undefined
      : `refused without the expected text ${String(expected.rpc.text)}`;
  }
  if ("http" in expected) {
    if (outcome.kind !== "http") return "no HTTP answer";
    if (outcome.status !== expected.http.status) return `HTTP ${outcome.status} instead of ${expected.http.status}`;
    if (!matches(outcome.body, expected.http.text))
      return `body without the expected text ${String(expected.http.text)}`;
    if (expected.http.rpcCode === undefined) return undefined;
    const error = jsonRpcMessages(outcome.body)[0]?.error as { code?: number } | undefined;
    return error?.code === expected.http.rpcCode
      ? undefined
      : `JSON-RPC error ${String(error?.code)} instead of ${expected.http.rpcCode}`;
  }
  if ("reveals" in expected) {
    const payload =
      outcome.kind === "success" || (outcome.kind === "tool" && !outcome.isError) ? outcome.payload : undefined;
    if (payload === undefined) return "failed instead of answering without the other principal's data";
    const leaked = expected.reveals.filter((secret) => payload.includes(secret));
    return leaked.length === 0 ? undefined : `revealed ${leaked.map((secret) => JSON.stringify(secret)).join(", ")}`;
  }
  const reference = expected.sameAs.reference();
  const mine = refusalText(outcome);
  const theirs = reference.outcome && refusalText(reference.outcome);
  if (mine === undefined) return "not refused";
  if (theirs === undefined) return "the reference row was not refused";
  // Only where the text quotes the input: a one-character input would otherwise mask that letter everywhere.
  const masked = mine.split(`"${expected.sameAs.input}"`).join('"<input>"');
  const referenceMasked = theirs.split(`"${reference.input}"`).join('"<input>"');
  return masked === referenceMasked
    ? undefined
    : `refused differently from a missing one: ${JSON.stringify(masked)} vs ${JSON.stringify(referenceMasked)}`;
}

/** A short description of an outcome for the failure list. */
export function describeOutcome(outcome: Outcome): string {
  const text = (() => {
    switch (outcome.kind) {
      case "tool":
        return `${outcome.isError ? "tool error" : "tool success"}: ${outcome.isError ? outcome.text : outcome.payload}`;
      case "rpc-error":
        return `JSON-RPC error ${outcome.code}: ${outcome.message}`;
      case "success":
        return `success: ${outcome.payload}`;
      case "http":
        return `HTTP ${outcome.status}: ${outcome.body}${outcome.error ? ` (${outcome.error})` : ""}`;
      case "thrown":
        return `thrown: ${outcome.message}`;
    }
  })();
  const line = JSON.stringify(text).slice(1, -1);
  return line.length > 400 ? `${line.slice(0, 400)}…` : line;
}
