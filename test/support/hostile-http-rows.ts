import type { MatrixContext } from "./hostile-context.js";
import { httpOutcome, type Outcome, type Row } from "./hostile-row.js";
import { rawMcpRequest, type RawRequest } from "./raw-mcp-http.js";

const PROTOCOL_VERSION = "2025-11-25";
const MIB = 1024 * 1024;
const BODY_LIMIT = "request-body limit on /mcp (sessions.max_body_bytes, 413 before parsing)";
/** Measured here: 2 MB of nested arrays or 500 KB of nested objects raise the RSS by 40–50 MiB until the next major GC. */
const HEAVY = "heavy";

const initialize = (clientName: string): string =>
  `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"${PROTOCOL_VERSION}","capabilities":{},"clientInfo":{"name":"${clientName}","version":"1"}}}`;
const toolCall = (name: string, args: string): string =>
  `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"${name}","arguments":${args}}}`;

/** Headers of a request inside a session. */
function inSession(
  token: string | undefined,
  sessionId: string,
  extra: Record<string, string> = {},
): Record<string, string> {
  return {
    ...(token ? { Authorization: `Bearer ${token}` } : {}),
    "Mcp-Session-Id": sessionId,
    "MCP-Protocol-Version": PROTOCOL_VERSION,
    ...extra,
  };
}

/** A raw /mcp row; `note` names the defect the row guards against, or HEAVY for a row that may leave the heap grown (it runs late). */
function rawRow(
  context: MatrixContext,
  group: string,
  name: string,
  request: RawRequest,
  expected: Row["expected"],
  note?: string,
): Row {
  const send = async (): Promise<Outcome> => httpOutcome(await rawMcpRequest(context.url, request));
  if (note === HEAVY) return { group, name, target: "/mcp", send, expected, heavy: true };
  return { group, name, target: "/mcp", send, expected, ...(note ? { guards: note, heavy: note === BODY_LIMIT } : {}) };
}

const FOREIGN_HOSTS = [
  "evil.example",
  "evil.example:80",
  "localhost.evil.example",
  "127.0.0.1.evil.example",
  "localhost@evil.example",
  "[::2]",
  "0.0.0.0",
  "devhatchery.internal",
];
const FOREIGN_ORIGINS = [
  "http://evil.example",
  "https://evil.example:443",
  "null",
  "http://localhost.evil.example",
  "http://127.0.0.1.evil.example:8080",
  "file://",
  "chrome-extension://abcdef",
];

/** Foreign Host and Origin headers, on a new session's initialize and on a request in the victim's session with the victim's token. */
export function hostOriginRows(context: MatrixContext): Row[] {
  const { victim, attacker } = context;
  const variants: [string, (headers: Record<string, string>) => RawRequest][] = [
    [
      "initialize",
      (headers) => ({ headers: { Authorization: `Bearer ${attacker.token}`, ...headers }, body: initialize("rebind") }),
    ],
    [
      "tools/call in the victim's session",
      (headers) => ({
        headers: inSession(victim.token, victim.sessionId, headers),
        body: toolCall("runner_list", "{}"),
      }),
    ],
    [
      "GET stream of the victim's session",
      (headers) => ({ method: "GET", headers: inSession(victim.token, victim.sessionId, headers), timeoutMs: 5_000 }),
    ],
  ];
  const rows: Row[] = [];
  for (const [variant, request] of variants) {
    for (const host of FOREIGN_HOSTS) {
      // A Host with userinfo is no valid Host at all: the HTTP server adapter answers 400 before any handler runs.
      const expected = host.includes("@")
        ? { http: { status: 400, text: "" } }
        : { http: { status: 403, text: `"forbidden_host"` } };
      rows.push(rawRow(context, "host/origin", `${variant} with Host "${host}"`, request({ Host: host }), expected));
    }
    for (const origin of FOREIGN_ORIGINS) {
      rows.push(
        rawRow(context, "host/origin", `${variant} with Origin "${origin}"`, request({ Origin: origin }), {
          http: { status: 403, text: `"forbidden_origin"` },
        }),
      );
    }
  }
  return rows;
}

/** The victim's Mcp-Session-Id with the attacker's token (or none), by every method. */
export function foreignSessionRows(context: MatrixContext): Row[] {
  const { victim, attacker } = context;
  const notFound = { http: { status: 404, text: "Session not found", rpcCode: -32001 } } as const;
  const cases: [string, RawRequest, Row["expected"]][] = [
    [
      "POST tools/call",
      { headers: inSession(attacker.token, victim.sessionId), body: toolCall("runner_list", "{}") },
      notFound,
    ],
    ["POST initialize", { headers: inSession(attacker.token, victim.sessionId), body: initialize("hijack") }, notFound],
    [
      "POST notification",
      {
        headers: inSession(attacker.token, victim.sessionId),
        body: `{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}`,
      },
      notFound,
    ],
    ["GET stream", { method: "GET", headers: inSession(attacker.token, victim.sessionId), timeoutMs: 5_000 }, notFound],
    [
      "GET stream with Last-Event-ID",
      {
        method: "GET",
        headers: inSession(attacker.token, victim.sessionId, { "Last-Event-ID": "0" }),
        timeoutMs: 5_000,
      },
      notFound,
    ],
    ["DELETE", { method: "DELETE", headers: inSession(attacker.token, victim.sessionId) }, notFound],
    [
      "POST in upper case",
      { headers: inSession(attacker.token, victim.sessionId.toUpperCase()), body: toolCall("runner_list", "{}") },
      notFound,
    ],
    [
      "POST without a token",
      { headers: inSession(undefined, victim.sessionId), body: toolCall("runner_list", "{}") },
      { http: { status: 401, text: "" } },
    ],
    [
      "DELETE without a token",
      { method: "DELETE", headers: inSession(undefined, victim.sessionId) },
      { http: { status: 401, text: "" } },
    ],
  ];
  return cases.map(([name, request, expected]) =>
    rawRow(context, "foreign session", `victim's Mcp-Session-Id: ${name}`, request, expected),
  );
}

const nested = (depth: number, open: string, close: string, inner = "0"): string =>
  `${open.repeat(depth)}${inner}${close.repeat(depth)}`;

/** Malformed envelopes, deep JSON and wrong JSON-RPC types, sent raw in the attacker's own session. */
export function malformedBodyRows(context: MatrixContext): Row[] {
  const { attacker } = context;
  const headers = inSession(attacker.token, attacker.sessionId);
  const parseError = { http: { status: 400, text: "Parse error", rpcCode: -32700 } } as const;
  // Refused before parsing, whatever the nesting is in: the body, a tool argument or clientInfo.
  const tooDeep = { http: { status: 400, text: "more than 64 levels deep", rpcCode: -32600 } } as const;
  const cases: [string, RawRequest, Row["expected"], string?][] = [
    ["not JSON", { headers, body: "{not json" }, parseError],
    ["an empty body", { headers, body: "" }, parseError],
    ["jsonrpc 1.0", { headers, body: `{"jsonrpc":"1.0","id":1,"method":"ping"}` }, parseError],
    ["method as a number", { headers, body: `{"jsonrpc":"2.0","id":1,"method":42}` }, parseError],
    ["id as an object", { headers, body: `{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}` }, parseError],
    ["a JSON string", { headers, body: `"tools/call"` }, parseError],
    ["deep arrays (100,000 levels) as the body", { headers, body: nested(100_000, "[", "]") }, tooDeep],
    ["deep arrays (1,000,000 levels) as the body", { headers, body: nested(1_000_000, "[", "]") }, tooDeep, HEAVY],
    ["deep objects (100,000 levels) as the body", { headers, body: nested(100_000, `{"a":`, "}") }, tooDeep, HEAVY],
    [
      "deep arrays (100,000 levels) as a tool argument",
      {
        headers,
        body: toolCall(
          "fs_write",
          `{"runner":"${attacker.runnerId}","path":"/work/deep","content":${nested(100_000, "[", "]")}}`,
        ),
      },
      tooDeep,
    ],
    [
      "deep objects (100,000 levels) as clientInfo",
      {
        headers: { Authorization: `Bearer ${attacker.token}` },
        body: initialize("x").replace(`{"name":"x","version":"1"}`, nested(100_000, `{"a":`, "}")),
      },
      tooDeep,
    ],
    [
      "params as an array",
      { headers, body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["runner_list"]}` },
      parseError,
    ],
    [
      "an unknown tool",
      { headers, body: toolCall("no_such_tool", "{}") },
      { http: { status: 200, text: "Tool no_such_tool not found" } },
    ],
    [
      "arguments as a string",
      { headers, body: toolCall("fs_read", `"runner=x"`) },
      { http: { status: 200, text: "expected record, received string" } },
    ],
    [
      "an unknown method",
      { headers, body: `{"jsonrpc":"2.0","id":1,"method":"admin/shutdown"}` },
      { http: { status: 200, text: "-32601" } },
    ],
    [
      "Content-Type text/plain",
      { headers: { ...headers, "Content-Type": "text/plain" }, body: toolCall("runner_list", "{}") },
      { http: { status: 415, text: "Content-Type" } },
    ],
    [
      "no Accept of event streams",
      { headers: { ...headers, Accept: "application/json" }, body: toolCall("runner_list", "{}") },
      { http: { status: 406, text: "Not Acceptable" } },
    ],
    [
      "an unknown protocol version",
      { headers: { ...headers, "MCP-Protocol-Version": "1999-01-01" }, body: toolCall("runner_list", "{}") },
      { http: { status: 400, text: "Unsupported protocol version" } },
    ],
  ];
  return cases.map(([name, request, expected, note]) =>
    rawRow(context, "malformed body", name, request, expected, note),
  );
}

/** Bodies over the limit: announced with a Content-Length, sent chunked without one, and a Content-Length that lies. */
export function oversizedBodyRows(context: MatrixContext): Row[] {
  const { attacker } = context;
  const tooLarge = { http: { status: 413, text: `"message":"Request body too large`, rpcCode: -32600 } } as const;
  const filler = Buffer.alloc(MIB, "x");
  const big = "x".repeat(64 * MIB);
  const initHead = initialize("<>").split("<>")[0] as string;
  const initTail = initialize("<>").split("<>")[1] as string;
  const callHead = toolCall("fs_write", `{"runner":"${attacker.runnerId}","path":"/work/big","content":"<>"}`).split(
    "<>",
  )[0] as string;
  const callTail = `"}}}`;
  const cases: [string, RawRequest][] = [
    [
      "64 MiB initialize with a Content-Length",
      { headers: { Authorization: `Bearer ${attacker.token}` }, body: initialize(big) },
    ],
    [
      "64 MiB initialize, chunked",
      {
        headers: { Authorization: `Bearer ${attacker.token}` },
        chunked: { head: initHead, chunk: filler, repeat: 64, tail: initTail },
      },
    ],
    [
      "64 MiB tools/call with a Content-Length",
      { headers: inSession(attacker.token, attacker.sessionId), body: `${callHead}${big}${callTail}` },
    ],
    [
      "64 MiB tools/call, chunked",
      {
        headers: inSession(attacker.token, attacker.sessionId),
        chunked: { head: callHead, chunk: filler, repeat: 64, tail: callTail },
      },
    ],
    [
      "Content-Length of 64 MiB announced, 1 KiB sent",
      {
        headers: { Authorization: `Bearer ${attacker.token}`, "Content-Length": String(64 * MIB) },
        chunked: { head: initHead, chunk: Buffer.alloc(1024, "x"), repeat: 1, tail: "" },
        timeoutMs: 10_000,
      },
    ],
  ];
  return cases.map(([name, request]) => ({
    ...rawRow(context, "oversized body", name, request, tooLarge, BODY_LIMIT),
    dropsBytes: 64 * MIB,
  }));
}
