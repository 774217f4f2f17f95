import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { effectiveQuotas, MIB } from "../quotas.js";
import { ExportQuota } from "./export-quota.js";
import { exportBytesByPrincipal, exportBytesOf } from "./export-usage.js";

describe("ExportQuota", () => {
  let root: string;
  const quotas = effectiveQuotas({ exportMb: 3 }, undefined);

  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), "devhatchery-export-quota-"));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  /** Writes a manifest as export_create leaves it in the export root. */
  const landExport = async (principal: string, name: string, bytes: number, owner = principal): Promise<void> => {
    await mkdir(join(root, principal), { recursive: true });
    const manifest = { manifest_version: 1, name, principal: owner, bytes_written: bytes, created_at: "" };
    await writeFile(join(root, principal, `${name}.manifest.json`), JSON.stringify(manifest));
  };

  it("counts the bytes_written of the principal's manifests in the export root, for each principal", async () => {
    expect(await exportBytesOf(root, "alice")).toBe(0);
    await landExport("alice", "one.tar", 2 * MIB);
    await landExport("alice", "two.tar", 5);
    await landExport("alice", "forged.tar", 9 * MIB, "mallory");
    await landExport("bob", "b.tar", 7);
    await mkdir(join(root, ".staging", "e-1"), { recursive: true });
    expect(await exportBytesOf(root, "alice")).toBe(2 * MIB + 5);
    expect(await exportBytesByPrincipal(root)).toEqual(
      new Map([
        ["alice", 2 * MIB + 5],
        ["bob", 7],
      ]),
    );
    expect(await exportBytesByPrincipal(join(root, "missing"))).toEqual(new Map());
  });

  it("counts nothing without an export_mb quota, and refuses an export at or over it", async () => {
    const ledger = new ExportQuota(root);
    expect(await ledger.begin("alice", effectiveQuotas({ snapshots: 1 }, undefined))).toBeUndefined();
    await landExport("alice", "one.tar", 3 * MIB);
    await expect(ledger.begin("alice", quotas)).rejects.toThrow(
      /^Quota export_mb exceeded: this server's quota is 3, your exports in the export root use 3 MiB\. Export into a read-write mount of the runner instead/,
    );
    expect(await ledger.begin("bob", quotas)).toBeDefined();
  });

  it("stops an export whose bytes would take the principal past the quota, counting its other exports", async () => {
    const ledger = new ExportQuota(root);
    await landExport("alice", "one.tar", MIB);
    const first = (await ledger.begin("alice", quotas))!;
    const second = (await ledger.begin("alice", quotas))!;
    first.written(MIB);
    expect(() => second.written(MIB + 1)).toThrow(
      "Quota export_mb exceeded: this server's quota is 3, your exports in the export root use 2 MiB, and this export was stopped after 1 MiB; nothing was written. Export into a read-write mount of the runner instead (destination), export less (a subfolder, exclude globs), or ask the operator to remove exports you no longer need from the export root.",
    );
    // A failed export no longer counts once released.
    first.release();
    expect(() => second.written(2 * MIB)).not.toThrow();
  });

  it("counts an export that lands while another is written, exactly once", async () => {
    const ledger = new ExportQuota(root);
    const first = (await ledger.begin("alice", quotas))!;
    const second = (await ledger.begin("alice", quotas))!;
    first.written(2 * MIB);
    await first.land(2 * MIB, () => landExport("alice", "first.tar", 2 * MIB));
    first.release();
    expect(() => second.written(MIB)).not.toThrow();
    expect(() => second.written(MIB + 1)).toThrow(/your exports in the export root use 2 MiB, and this export/);
    // While the second is written, it counts for a new export too; once it failed, only what landed does.
    await expect(ledger.begin("alice", quotas)).rejects.toThrow(/your exports in the export root use 3 MiB\./);
    second.release();
    const third = (await ledger.begin("alice", quotas))!;
    expect(() => third.written(MIB)).not.toThrow();
  });
});
