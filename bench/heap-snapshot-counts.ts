import { readFile } from "node:fs/promises";

interface SnapshotHead {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] }; node_count: number };
}

/** Node types whose name is a constructor (objects) or a function name (closures); strings, code and the like are left out. */
const COUNTED_TYPES = new Set(["object", "closure"]);

/**
 * The head, the node table and the string table of a `.heapsnapshot` file. A leaking process writes snapshots past
 * V8's string length limit, so only the head and the string table go through JSON.parse; the numbers are scanned.
 */
function parseSnapshot(file: Buffer): { head: SnapshotHead; nodes: Uint32Array; strings: string[] } {
  const nodesAt = file.indexOf('"nodes":[');
  const stringsAt = file.indexOf('"strings":[');
  if (nodesAt < 0 || stringsAt < 0)
    throw new Error('Not a V8 heap snapshot: no "nodes" or "strings" table; write it with v8.writeHeapSnapshot().');
  const head = JSON.parse(`${file.toString("utf8", 0, nodesAt).trimEnd().replace(/,$/, "")}}`) as SnapshotHead;
  const nodes = new Uint32Array(head.snapshot.node_count * head.snapshot.meta.node_fields.length);
  let count = 0;
  let value = -1;
  for (let at = nodesAt + '"nodes":['.length; count < nodes.length && at < file.length; at++) {
    const byte = file[at]!;
    if (byte >= 0x30 && byte <= 0x39) value = (value < 0 ? 0 : value * 10) + byte - 0x30;
    else if (value >= 0) {
      nodes[count++] = value;
      value = -1;
    }
  }
  const stringsEnd = file.lastIndexOf("]");
  const strings = JSON.parse(file.toString("utf8", stringsAt + '"strings":'.length, stringsEnd + 1)) as string[];
  return { head, nodes, strings };
}

/** Live objects and closures in a `.heapsnapshot` file (v8.writeHeapSnapshot), counted by constructor or function name. */
export async function countByConstructor(path: string): Promise<Map<string, number>> {
  const { head, nodes, strings } = parseSnapshot(await readFile(path));
  const fields = head.snapshot.meta.node_fields;
  const typeNames = head.snapshot.meta.node_types[0];
  const stride = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const counts = new Map<string, number>();
  for (let node = 0; node < nodes.length; node += stride) {
    const type = typeNames[nodes[node + typeAt]!]!;
    if (!COUNTED_TYPES.has(type)) continue;
    const name = `${type === "closure" ? "closure " : ""}${strings[nodes[node + nameAt]!]}`;
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return counts;
}

/** The constructors whose count grew most from `before` to `after`, largest growth first. */
export function topGrowth(
  before: Map<string, number>,
  after: Map<string, number>,
  limit: number,
): { name: string; before: number; after: number }[] {
  return [...after]
    .map(([name, count]) => ({ name, before: before.get(name) ?? 0, after: count }))
    .filter((row) => row.after > row.before)
    .sort((a, b) => b.after - b.before - (a.after - a.before))
    .slice(0, limit);
}

/** Bytes held by each node type and constructor (self sizes) in a `.heapsnapshot` file, strings and arrays included. */
export async function sizeByConstructor(path: string): Promise<Map<string, number>> {
  const { head, nodes, strings } = parseSnapshot(await readFile(path));
  const fields = head.snapshot.meta.node_fields;
  const typeNames = head.snapshot.meta.node_types[0];
  const stride = fields.length;
  const typeAt = fields.indexOf("type");
  const nameAt = fields.indexOf("name");
  const sizeAt = fields.indexOf("self_size");
  const sizes = new Map<string, number>();
  for (let node = 0; node < nodes.length; node += stride) {
    const type = typeNames[nodes[node + typeAt]!]!;
    const name = COUNTED_TYPES.has(type)
      ? `${type === "closure" ? "closure " : ""}${strings[nodes[node + nameAt]!]}`
      : `(${type})`;
    sizes.set(name, (sizes.get(name) ?? 0) + nodes[node + sizeAt]!);
  }
  return sizes;
}
