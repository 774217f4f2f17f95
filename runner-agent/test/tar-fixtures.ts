import { createHash } from "node:crypto";
import { lstat, readdir, readFile, readlink } from "node:fs/promises";
import { join } from "node:path";
import { pack, type Header } from "tar-stream";

/** One member of a hand-made archive; `content` makes it a file unless `type` says otherwise. */
export type TarMember = Partial<Header> & { name: string; content?: string | Buffer };

/** Builds an uncompressed tar archive in memory, exactly as described (no checks: hostile archives included). */
export async function makeTar(members: TarMember[]): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  const collected = (async () => {
    for await (const chunk of archive as AsyncIterable<Buffer>) chunks.push(chunk);
  })();
  for (const { content, ...header } of members) {
    await new Promise<void>((resolve, reject) => {
      const done = (error?: Error | null) => (error ? reject(error) : resolve());
      if (content !== undefined) archive.entry(header, content, done);
      else archive.entry(header, done).end(null);
    });
  }
  archive.finalize();
  await collected;
  return Buffer.concat(chunks);
}

/** A directory tree as comparable text: relative path → type, permission bits and content hash or link target. */
export async function describeTree(root: string): Promise<Record<string, string>> {
  const tree: Record<string, string> = {};
  const visit = async (relative: string): Promise<void> => {
    for (const name of (await readdir(join(root, relative))).sort()) {
      const path = relative ? `${relative}/${name}` : name;
      const full = join(root, path);
      const stats = await lstat(full);
      const mode = (stats.mode & 0o7777).toString(8);
      if (stats.isSymbolicLink()) tree[path] = `symlink -> ${await readlink(full)}`;
      else if (stats.isDirectory()) {
        tree[path] = `directory ${mode}`;
        await visit(path);
      } else
        tree[path] = `file ${mode} ${createHash("sha256")
          .update(await readFile(full))
          .digest("hex")
          .slice(0, 16)}`;
    }
  };
  await visit("");
  return tree;
}
