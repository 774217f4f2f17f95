import type { Tool } from "@modelcontextprotocol/sdk/types.js";
import type { MatrixContext } from "./hostile-context.js";
import { toolOutcome, type Row } from "./hostile-row.js";

type JsonSchema = {
  type?: string | string[];
  enum?: unknown[];
  anyOf?: JsonSchema[];
  minimum?: number;
  maximum?: number;
  minLength?: number;
  maxLength?: number;
};

/**
 * How a tool refuses arguments its schema rejects: the SDK's validation ("MCP error -32602: Input validation error"),
 * or, for tools that may run as a task (runner_spawn), the control plane's own check of the same schema.
 */
function validationRefusal(tool: Tool): Row["expected"] {
  if (tool.execution?.taskSupport === "optional")
    return { tool: { code: "INVALID_ARGUMENT", text: `Invalid arguments for tool ${tool.name}` } };
  return { tool: { code: "-32602", text: `Input validation error: Invalid arguments for tool ${tool.name}` } };
}

/** Values a property's JSON schema rejects: one of a wrong JSON type, and each bound broken by one. */
function wrongValues(schema: JsonSchema): Record<string, unknown> {
  const types = new Set([schema.type ?? [], ...(schema.anyOf ?? []).map((branch) => branch.type ?? [])].flat());
  const values: Record<string, unknown> = {};
  if (types.has("string") || types.has("array")) values["a number"] = 42;
  else if (types.has("object")) values["an array"] = ["x"];
  else values["a string"] = "true";
  if (types.has("integer")) values["a fraction"] = 1.5;
  if (schema.enum) values["an unknown enum value"] = "definitely-not-an-option";
  if (typeof schema.maximum === "number") values["one above the maximum"] = schema.maximum + 1;
  if (typeof schema.minimum === "number") values["one below the minimum"] = schema.minimum - 1;
  if (typeof schema.maxLength === "number") values["one character too long"] = "a".repeat(schema.maxLength + 1);
  return values;
}

/** A valid-looking base for each tool's required arguments, aimed at the attacker's own runner. */
function baseArgs(tool: Tool, runner: string): Record<string, unknown> {
  const base: Record<string, unknown> = {};
  for (const name of tool.inputSchema.required ?? []) {
    const schema = (tool.inputSchema.properties?.[name] ?? {}) as JsonSchema;
    if (name === "runner") base[name] = runner;
    else if (schema.type === "integer" || schema.type === "number") base[name] = 0;
    else if (name === "workspace_key") base[name] = "nothing-here";
    else base[name] = name.endsWith("_id") ? "x-0" : "/work/none";
  }
  return base;
}

/** Every property of every tool the server lists, sent with wrong types and out-of-range values; and every tool without its required arguments. */
export function wrongTypeRows(context: MatrixContext): Row[] {
  const rows: Row[] = [];
  for (const tool of context.tools) {
    const base = baseArgs(tool, context.attacker.runnerId);
    for (const [property, schema] of Object.entries(tool.inputSchema.properties ?? {})) {
      for (const [kind, value] of Object.entries(wrongValues(schema as JsonSchema))) {
        rows.push({
          group: "wrong type",
          name: `${tool.name}.${property} as ${kind}`,
          target: tool.name,
          send: () => toolOutcome(context.attackerClient, tool.name, { ...base, [property]: value }),
          expected: validationRefusal(tool),
        });
      }
    }
    if ((tool.inputSchema.required ?? []).length > 0) {
      rows.push({
        group: "wrong type",
        name: `${tool.name} without arguments`,
        target: tool.name,
        send: () => toolOutcome(context.attackerClient, tool.name, {}),
        expected: validationRefusal(tool),
      });
    }
    // Arguments that are no object fail the SDK's request schema before any tool runs: it answers -32603 with zod's
    // message (the specification would say -32602); nothing reaches the control plane's code.
    rows.push({
      group: "wrong type",
      name: `${tool.name} with an array as arguments`,
      target: tool.name,
      send: () => toolOutcome(context.attackerClient, tool.name, ["x"]),
      expected: { rpc: { code: -32603, text: "Invalid input: expected record, received array" } },
    });
  }
  return rows;
}

const LONG_NAME = "a".repeat(64 * 1024);
const LONG_DEPTH = "a/".repeat(32 * 1024);

/** Paths no file system takes: a NUL byte, a 64 KiB name, 64 KiB of nested folders. */
const LONG_PATHS =
  "paths longer than PATH_MAX refused as INVALID_ARGUMENT, with the value cut in the message (found by this matrix)";
const BAD_PATHS: Record<string, { path: string; code: string; text: string | RegExp; guards?: string }> = {
  "a NUL byte": { path: "/work/a\u0000b", code: "INVALID_ARGUMENT", text: "NUL" },
  "a 64 KiB name": { path: `/work/${LONG_NAME}`, code: "INVALID_ARGUMENT", text: /too long/i, guards: LONG_PATHS },
  "64 KiB of nested folders": {
    path: `/work/${LONG_DEPTH}x`,
    code: "INVALID_ARGUMENT",
    text: /too long/i,
    guards: LONG_PATHS,
  },
};

/** Where a path goes into each tool: tool, argument, the other arguments. */
const PATH_ARGUMENTS: { tool: string; argument: string; args: Record<string, unknown> }[] = [
  { tool: "fs_read", argument: "path", args: {} },
  { tool: "fs_write", argument: "path", args: { content: "x" } },
  { tool: "fs_list", argument: "path", args: {} },
  { tool: "fs_stat", argument: "path", args: {} },
  { tool: "fs_mkdir", argument: "path", args: {} },
  { tool: "fs_remove", argument: "path", args: { recursive: true } },
  { tool: "fs_move", argument: "source", args: { destination: "/work/moved" } },
  { tool: "fs_move", argument: "destination", args: { source: "/work/own.txt" } },
  { tool: "fs_watch", argument: "path", args: {} },
  { tool: "export_create", argument: "path", args: {} },
  { tool: "exec", argument: "cwd", args: { command: "true" } },
];

/** NUL bytes and 64 KiB paths in every path argument of the attacker's own runner, and in commands and environments. */
export function badPathRows(context: MatrixContext): Row[] {
  const runner = context.attacker.runnerId;
  const rows: Row[] = [];
  const nulSpawn = "NUL bytes and E2BIG refused as INVALID_ARGUMENT";
  for (const { tool, argument, args } of PATH_ARGUMENTS) {
    for (const [kind, bad] of Object.entries(BAD_PATHS)) {
      const { path, code, text } = bad;
      // exec's cwd reaches the process start, where a NUL byte fails like the command's (below).
      const guards = tool === "exec" && kind === "a NUL byte" ? nulSpawn : bad.guards;
      rows.push({
        group: "bad path",
        name: `${tool}.${argument} with ${kind}`,
        target: tool,
        send: () => toolOutcome(context.attackerClient, tool, { runner, ...args, [argument]: path }),
        expected: { tool: { code, text } },
        ...(guards ? { guards } : {}),
      });
    }
  }
  const commands: { name: string; tool: string; args: Record<string, unknown> }[] = [
    { name: "exec argv with a NUL byte", tool: "exec", args: { runner, command: ["echo", "a\u0000b"] } },
    { name: "exec program with a NUL byte", tool: "exec", args: { runner, command: ["ec\u0000ho", "x"] } },
    { name: "exec shell command with a NUL byte", tool: "exec", args: { runner, command: "echo a\u0000b" } },
    { name: "exec env value with a NUL byte", tool: "exec", args: { runner, command: "true", env: { A: "a\u0000b" } } },
    {
      name: "exec env name with a NUL byte",
      tool: "exec",
      args: { runner, command: "true", env: { "A\u0000B": "x" } },
    },
    {
      name: "runner_spawn env value with a NUL byte",
      tool: "runner_spawn",
      args: { storage: "tmpfs", env: { A: "a\u0000b" } },
    },
  ];
  for (const { name, tool, args } of commands) {
    rows.push({
      group: "bad path",
      name,
      target: tool,
      send: () => toolOutcome(context.attackerClient, tool, args),
      expected: { tool: { code: "INVALID_ARGUMENT", text: "NUL" } },
      guards: nulSpawn,
    });
  }
  return rows;
}
