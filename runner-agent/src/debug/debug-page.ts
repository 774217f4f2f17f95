import type { DebugSnapshot } from "./debug-snapshot.js";

function escapeHtml(value: unknown): string {
  const text = typeof value === "object" && value !== null ? JSON.stringify(value) : String(value ?? "");
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

function table(title: string, rows: Record<string, unknown>[]): string {
  if (rows.length === 0) return `<h2>${title}</h2><p class="empty">none</p>`;
  const columns = [...new Set(rows.flatMap((row) => Object.keys(row)))];
  const head = columns.map((column) => `<th>${escapeHtml(column)}</th>`).join("");
  const body = rows
    .map((row) => `<tr>${columns.map((column) => `<td>${escapeHtml(row[column])}</td>`).join("")}</tr>`)
    .join("");
  return `<h2>${title} (${rows.length})</h2><table><thead><tr>${head}</tr></thead><tbody>${body}</tbody></table>`;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The debug snapshot as a small self-contained HTML page (no scripts, every value escaped). */
export function renderDebugPage(snapshot: DebugSnapshot): string {
  const summary: Record<string, unknown>[] = [
    {
      version: snapshot.version,
      node: snapshot.node,
      pid: snapshot.pid,
      uptime: `${snapshot.uptime_s} s`,
      rss: mb(snapshot.memory.rss_bytes),
      heap: `${mb(snapshot.memory.heap_used_bytes)} / ${mb(snapshot.memory.heap_total_bytes)}`,
      cpu: `${snapshot.cpu.user_ms} ms user, ${snapshot.cpu.system_ms} ms system`,
      "open streams": snapshot.streams.open,
      "calls served": snapshot.streams.total,
    },
  ];
  const streams = Object.entries(snapshot.streams.openByMethod).map(([method, open]) => ({ method, open }));
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>DevHatchery agent ${escapeHtml(snapshot.version)}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin-bottom:1em}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:left;vertical-align:top}th{background:#f4f4f4}.empty{color:#888}</style>
</head><body><h1>DevHatchery runner agent</h1>
${table("Agent", summary)}${table("Open streams", streams)}${table("Processes", snapshot.processes)}${table("Watches", snapshot.watches)}
<p class="empty">JSON: <code>/debug.json</code> · taken ${escapeHtml(new Date().toISOString())}</p></body></html>
`;
}
