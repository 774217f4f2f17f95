#!/usr/bin/env node
// Writes docs/api-reference.md from the live MCP server: every tool (name, title, description, annotations, input
// and output fields) and resource template, as tools/list and resources/templates/list answer them. Runs the
// built control plane in-process (no Docker needed: listing touches no runner). `npm run docs:api`.
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

/** Notifications are not listed by the protocol, so this part is written by hand; keep it true to the code. */
const NOTIFICATIONS = [
  "## Notifications",
  "",
  "| direction | method | when |",
  "|---|---|---|",
  '| server → client | `notifications/progress` | while `exec` waits: each output chunk as `message`, `progress` = bytes so far, `_meta["io.devhatchery/stream"]` = `stdout` or `stderr`; while `runner_spawn` (wait true) and `runner_attach` pull, create and start a runner; while `job_run` (wait true) runs: each status change (`queued: position 2 of 3`, `cloning …`, `running …`) and the agent\'s output in batches (at most every 250 ms, the last 4 KiB of each), `_meta["io.devhatchery/job"]` = the job id, `_meta["io.devhatchery/kind"]` = `status` or `output` (only when the call carries a progress token; a call that returned, such as `runner_spawn` with wait false, sends none: see the next rows) |',
  "| server → client | `notifications/resources/updated` | a subscribed file or directory changed (agent watch, throttled per URI), a subscribed exec output grew or the process ended, a subscribed runner started, became ready, failed, stopped, started again or was removed (a runner URI by alias or workspace key may be subscribed before the runner exists) |",
  "| server → client | `notifications/resources/list_changed` | the principal spawned or removed a runner, or the client's roots changed |",
  "| server → client | `notifications/message` | to every session of the runner's principal, each status once per runner: ready (`info`), spawn failed (`error`, with the reason), stopped (`notice`; `warning` with the exit when its agent died), removed (`notice`); filtered by the session's `logging/setLevel`. How `runner_spawn` with wait false reports readiness |",
  "| server → client | `notifications/tasks/status` | a task-augmented `runner_spawn` changed phase (`statusMessage`: pulling, creating, starting), a task-augmented `job_run` changed status or wrote output, or either finished (`completed`, or `failed` with the error text) |",
  "| client → server | `notifications/cancelled` | cancels a tool call; a cancelled `exec` interrupts its process (SIGINT, SIGTERM, SIGKILL) |",
  "| client → server | `notifications/roots/list_changed` | the server asks `roots/list` again and re-resolves relative paths and listings |",
  "",
  "Streams are resumable with `Last-Event-ID` within the limits in [streams.md](streams.md).",
  "",
  "## Tasks",
  "",
  'Tools with task support `optional` (`runner_spawn`, `job_run`) may be called with `params.task` (`{ "ttl": ms }`): the call returns',
  "a task at once and the work runs in the background. `tasks/get` polls it (`working` → `completed` or `failed`), `tasks/result`",
  "returns the same result a plain call would have, `tasks/list` lists the caller's tasks and `tasks/cancel` cancels one (a spawn",
  "still finishes; a job is cancelled like `job_cancel` does). Tasks are kept in the control plane's state store: they survive a restart, expire after their ttl (at most 24 h)",
  "and are visible only to the principal that created them. A call without `params.task` runs as a normal call. When the task's",
  "request carries a `progressToken`, `notifications/progress` for it keep coming on the session's stream until the task ends.",
  "",
];

const { createControlPlane } = await import("../dist/control-plane.js");
const { loadConfig } = await import("../dist/config.js");
const { createLogger } = await import("../dist/log.js");

const TARGET = fileURLToPath(new URL("../../docs/api-reference.md", import.meta.url));
const URL_MCP = "http://127.0.0.1:8080/mcp";
const HEADERS = {
  "content-type": "application/json",
  accept: "application/json, text/event-stream",
  "mcp-protocol-version": "2025-11-25",
};

// A throwaway state dir: generating docs must not touch the operator's state store.
const stateDir = await mkdtemp(join(tmpdir(), "devhatchery-docs-"));
const controlPlane = createControlPlane(
  loadConfig({ HOME: process.env.HOME ?? "/root", DEVHATCHERY_STATE_DIR: stateDir }),
  createLogger("silent"),
);
try {
  const sessionId = await initialize();
  const tools = await listAll(sessionId, "tools/list", "tools");
  const templates = await listAll(sessionId, "resources/templates/list", "resourceTemplates");
  await writeFile(TARGET, render(tools, templates));
  process.stdout.write(`wrote ${TARGET}: ${tools.length} tools, ${templates.length} resource templates\n`);
} finally {
  await controlPlane.close();
  await rm(stateDir, { recursive: true, force: true });
}

async function rpc(sessionId, id, method, params) {
  const response = await controlPlane.app.request(URL_MCP, {
    method: "POST",
    headers: { ...HEADERS, ...(sessionId ? { "mcp-session-id": sessionId } : {}) },
    body: JSON.stringify({
      jsonrpc: "2.0",
      ...(id === undefined ? {} : { id }),
      method,
      ...(params ? { params } : {}),
    }),
  });
  const text = await response.text();
  if (id === undefined) return { response };
  const data = text.split("\n").find((line) => line.startsWith("data: ") && line.includes(`"id":${id}`));
  if (!data) throw new Error(`${method} answered ${response.status} without a result: ${text.slice(0, 500)}`);
  const message = JSON.parse(data.slice(6));
  if (message.error) throw new Error(`${method} failed: ${message.error.message}`);
  return { response, result: message.result };
}

async function initialize() {
  const params = {
    protocolVersion: "2025-11-25",
    capabilities: { roots: { listChanged: true } },
    clientInfo: { name: "gen-api-reference", version: "1" },
  };
  const { response } = await rpc(undefined, 0, "initialize", params);
  const sessionId = response.headers.get("mcp-session-id");
  await rpc(sessionId, undefined, "notifications/initialized");
  return sessionId;
}

async function listAll(sessionId, method, key) {
  const items = [];
  let cursor;
  for (let page = 1; page < 100; page++) {
    const { result } = await rpc(sessionId, page, method, cursor ? { cursor } : undefined);
    items.push(...result[key]);
    cursor = result.nextCursor;
    if (!cursor) break;
  }
  return items.sort((a, b) => (a.name ?? a.uriTemplate).localeCompare(b.name ?? b.uriTemplate));
}

function cell(text) {
  return String(text ?? "")
    .replaceAll("|", "\\|")
    .replaceAll("\n", " ");
}

function typeOf(schema) {
  if (!schema || typeof schema !== "object") return "any";
  if (schema.const !== undefined) return `\`${JSON.stringify(schema.const)}\``;
  if (schema.enum) return schema.enum.map((value) => `\`${JSON.stringify(value)}\``).join(" \\| ");
  const union = schema.anyOf ?? schema.oneOf;
  if (union) return union.map(typeOf).join(" \\| ");
  if (Array.isArray(schema.type)) return schema.type.join(" \\| ");
  if (schema.type === "array") return `${typeOf(schema.items)}[]`;
  if (schema.type === "object" && schema.additionalProperties && typeof schema.additionalProperties === "object")
    return `map of ${typeOf(schema.additionalProperties)}`;
  return schema.type ?? "any";
}

function limits(schema) {
  const notes = [];
  // zod marks every integer with the safe-integer range; that says nothing to a reader.
  if (schema.minimum !== undefined && schema.minimum !== Number.MIN_SAFE_INTEGER) notes.push(`≥ ${schema.minimum}`);
  if (schema.maximum !== undefined && schema.maximum !== Number.MAX_SAFE_INTEGER) notes.push(`≤ ${schema.maximum}`);
  if (schema.minLength !== undefined) notes.push(`length ≥ ${schema.minLength}`);
  if (schema.maxLength !== undefined) notes.push(`length ≤ ${schema.maxLength}`);
  if (schema.default !== undefined) notes.push(`default \`${JSON.stringify(schema.default)}\``);
  return notes.join(", ");
}

function fieldTable(schema) {
  const properties = Object.entries(schema?.properties ?? {});
  if (properties.length === 0) return "_none_\n";
  const required = new Set(schema.required ?? []);
  const rows = properties.map(
    ([name, field]) =>
      `| \`${name}\` | ${typeOf(field)} | ${required.has(name) ? "yes" : "no"} | ${cell(limits(field))} | ${cell(field.description)} |`,
  );
  return ["| field | type | required | limits | description |", "|---|---|---|---|---|", ...rows, ""].join("\n");
}

function annotationsOf(tool) {
  const hints = ["readOnlyHint", "destructiveHint", "idempotentHint", "openWorldHint"];
  const annotations = tool.annotations ?? {};
  return hints
    .map((hint) => `${hint}: ${annotations[hint] === undefined ? "unset" : `\`${annotations[hint]}\``}`)
    .join(" · ");
}

function render(tools, templates) {
  const lines = [
    "# API reference",
    "",
    "<!-- Generated by `npm run docs:api` from the server's tools/list and resources/templates/list; do not edit. CI fails when it is stale. -->",
    "",
    "DevHatchery's MCP surface as a client sees it at `/mcp` (Streamable HTTP, protocol 2025-11-25). Sessions, resumable",
    "streams and logging are described in [streams and sessions](streams.md).",
    "",
    "## Tools",
    "",
    ...tools.map((tool) => `- [\`${tool.name}\`](#${tool.name}) — ${cell(tool.title ?? "")}`),
    "",
  ];
  for (const tool of tools) {
    lines.push(
      `### ${tool.name}`,
      "",
      `**${cell(tool.title ?? tool.name)}**`,
      "",
      tool.description ?? "",
      "",
      `Annotations: ${annotationsOf(tool)}`,
      "",
    );
    const taskSupport = tool.execution?.taskSupport;
    if (taskSupport && taskSupport !== "forbidden")
      lines.push(`Task support: \`${taskSupport}\` (see [Tasks](#tasks))`, "");
    lines.push("Input:", "", fieldTable(tool.inputSchema));
    lines.push(
      "Output (`structuredContent`):",
      "",
      tool.outputSchema ? fieldTable(tool.outputSchema) : "_text content only_\n",
    );
  }
  lines.push("## Resource templates", "");
  if (templates.length === 0) lines.push("_none_", "");
  lines.push("| URI template | name | title | MIME type | description |", "|---|---|---|---|---|");
  for (const template of templates) {
    lines.push(
      `| \`${template.uriTemplate}\` | ${cell(template.name)} | ${cell(template.title)} | ${cell(template.mimeType)} | ${cell(template.description)} |`,
    );
  }
  lines.push("", ...NOTIFICATIONS);
  return `${lines.join("\n")}\n`;
}
