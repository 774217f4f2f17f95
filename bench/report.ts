import { readFile, writeFile } from "node:fs/promises";

const HEADER = `# Benchmarks

Measured side by side with the peer in one run on the same machine. Each section says the command that
produced it; rerun it to refresh the section (other sections are kept).
`;

/** Replaces (or appends) the section `## title` of the benchmarks document with fresh results. */
export async function writeBenchSection(path: string, title: string, command: string, lines: string[]): Promise<void> {
  let text = HEADER;
  try {
    text = await readFile(path, "utf8");
  } catch {
    // First run: start from the header.
  }
  const section = `## ${title}\n\nCommand: \`${command}\`\n\n${lines.join("\n")}\n`;
  const start = text.indexOf(`## ${title}\n`);
  if (start === -1) {
    text = `${text.trimEnd()}\n\n${section}`;
  } else {
    const next = text.indexOf("\n## ", start + 1);
    text = `${text.slice(0, start)}${section}${next === -1 ? "" : text.slice(next + 1)}`;
  }
  await writeFile(path, text);
}
