import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { storedExports } from "./garbage-collector.js";

describe("storedExports: what retention may delete in the export root", () => {
  let root = "";
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "devhatchery-stored-exports-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  async function manifest(folder: string, file: string, fields: Record<string, unknown>): Promise<void> {
    await mkdir(join(root, folder), { recursive: true });
    await writeFile(
      join(root, folder, file),
      JSON.stringify({ principal: folder, created_at: "2026-01-01T00:00:00.000Z", bytes_written: 7, ...fields }),
    );
  }

  it("lists exports by their manifests, trusting none that names another principal or another file", async () => {
    await manifest("alice", "app.tar.manifest.json", { name: "app.tar" });
    // Hostile or broken manifests: a path outside the folder, another principal, another file, not JSON.
    await manifest("alice", "evil.manifest.json", { name: "../bob/app.tar" });
    await manifest("alice", "stolen.tar.manifest.json", { name: "stolen.tar", principal: "bob" });
    await manifest("alice", "other.tar.manifest.json", { name: "app.tar" });
    await writeFile(join(root, "alice", "broken.manifest.json"), "{");
    // Exports in progress are not finished exports.
    await manifest(".staging", "x.tar.manifest.json", { name: "x.tar", principal: ".staging" });
    expect(await storedExports(root)).toEqual([
      { principal: "alice", name: "app.tar", createdAt: "2026-01-01T00:00:00.000Z", bytes: 7 },
    ]);
  });

  it("finds nothing when the export root does not exist yet", async () => {
    expect(await storedExports(join(root, "missing"))).toEqual([]);
  });
});
