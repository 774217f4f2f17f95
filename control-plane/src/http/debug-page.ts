import type { ErrorCode } from "../errors.js";

/** Headers for everything the debug route answers: nothing on the page may load or run, nor be sniffed as HTML. */
export const DEBUG_PAGE_HEADERS = {
  "content-security-policy": "default-src 'none'; frame-ancestors 'none'",
  "x-content-type-options": "nosniff",
  "cache-control": "no-store",
} as const;

/** Debug route failures by code: the agent's unusable answer (too large, not JSON) is a bad gateway, not our error. */
const STATUS_BY_CODE: Partial<Record<ErrorCode, 400 | 404 | 500 | 502>> = {
  INVALID_ARGUMENT: 400,
  NOT_FOUND: 404,
  INTERNAL: 500,
  RESOURCE_EXHAUSTED: 502,
  FAILED_PRECONDITION: 502,
};

/** The HTTP status of a failed debug view; anything else (the runner is not running or not answering) is 503. */
export function debugFailureStatus(code: ErrorCode): 400 | 404 | 500 | 502 | 503 {
  return STATUS_BY_CODE[code] ?? 503;
}

type Row = Record<string, unknown>;

function escapeHtml(value: unknown): string {
  const text = typeof value === "object" && value !== null ? JSON.stringify(value) : String(value ?? "");
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function isRow(value: unknown): value is Row {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function rowsOf(value: unknown): Row[] {
  return Array.isArray(value) ? value.filter(isRow) : [];
}

function table(title: string, rows: Row[]): string {
  if (rows.length === 0) return `<h2>${escapeHtml(title)}</h2><p>none</p>`;
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const head = columns.map((column) => `<th>${escapeHtml(column)}</th>`).join("");
  const body = rows
    .map((row) => `<tr>${columns.map((column) => `<td>${escapeHtml(row[column])}</td>`).join("")}</tr>`)
    .join("\n");
  return `<h2>${escapeHtml(title)} (${rows.length})</h2>\n<table border="1" cellpadding="4"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

/**
 * A runner agent's debug snapshot (its `/debug.json`, untrusted) as an HTML page rendered here: no scripts, no
 * styles, every value escaped, and only the data fields of the snapshot shown, so a rewritten agent can inject nothing.
 */
export function renderDebugPage(runnerId: string, snapshot: unknown): string {
  const view = isRow(snapshot) ? snapshot : {};
  const memory = isRow(view.memory) ? view.memory : {};
  const cpu = isRow(view.cpu) ? view.cpu : {};
  const streams = isRow(view.streams) ? view.streams : {};
  const summary: Row = {
    version: view.version,
    node: view.node,
    pid: view.pid,
    started_at: view.started_at,
    uptime_s: view.uptime_s,
    rss_bytes: memory.rss_bytes,
    heap_used_bytes: memory.heap_used_bytes,
    cpu_user_ms: cpu.user_ms,
    cpu_system_ms: cpu.system_ms,
    open_streams: streams.open,
    calls_served: streams.total,
  };
  const openByMethod = isRow(streams.openByMethod)
    ? Object.entries(streams.openByMethod).map(([method, open]) => ({ method, open }))
    : [];
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>DevHatchery runner ${escapeHtml(runnerId)}</title></head><body>
<h1>DevHatchery runner agent</h1>
<p>Runner ${escapeHtml(runnerId)}, as its agent reported it. JSON: request this page without <code>Accept: text/html</code>.</p>
${table("Agent", [summary])}
${table("Open streams", openByMethod)}
${table("Processes", rowsOf(view.processes))}
${table("Watches", rowsOf(view.watches))}
</body></html>
`;
}
