import { readdir, readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { exportRootFolder } from "./export-destination.js";
import { MANIFEST_SUFFIX, type ExportManifest } from "./export-manifest.js";

/** The folder of exports in progress inside the export root; no principal's. */
export const STAGING_DIR = ".staging";

/**
 * The manifests of the principal's exports in the export root, in no order, and the folder they are in (resolved);
 * none when the principal has no folder there yet.
 */
export async function readRootManifests(
  root: string,
  principal: string,
): Promise<{ folder: string; manifests: ExportManifest[] }> {
  if (!(await stat(join(root, principal)).catch(() => undefined)))
    return { folder: join(root, principal), manifests: [] };
  const folder = await exportRootFolder(root, principal);
  try {
    const names = (await readdir(folder.entry(""))).filter((name) => name.endsWith(MANIFEST_SUFFIX));
    const manifests: ExportManifest[] = [];
    for (const name of names) {
      const manifest = JSON.parse(await readFile(folder.entry(name), "utf8")) as ExportManifest;
      if (manifest.principal === principal) manifests.push(manifest);
    }
    return { folder: folder.path, manifests };
  } finally {
    await folder.close();
  }
}

/** What the export_mb quota counts: the bytes_written of the principal's exports in the export root. */
export async function exportBytesOf(root: string, principal: string): Promise<number> {
  const { manifests } = await readRootManifests(root, principal);
  return manifests.reduce((sum, manifest) => sum + manifest.bytes_written, 0);
}

/** exportBytesOf for every principal with a folder in the export root. */
export async function exportBytesByPrincipal(root: string): Promise<Map<string, number>> {
  const entries = await readdir(root, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === "ENOENT") return [];
    throw error;
  });
  const bytes = new Map<string, number>();
  for (const entry of entries) {
    if (!entry.isDirectory() || entry.name === STAGING_DIR) continue;
    bytes.set(entry.name, await exportBytesOf(root, entry.name));
  }
  return bytes;
}
