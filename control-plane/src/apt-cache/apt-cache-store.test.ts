import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { createLogger } from "../log.js";
import { AptCacheStore } from "./apt-cache-store.js";

const log = createLogger("silent");

async function put(store: AptCacheStore, url: string, body: string, announced = body.length): Promise<void> {
  const write = store.write(
    url,
    { contentType: "application/vnd.debian.binary-package", lastModified: undefined },
    announced,
  );
  write.stream.write(body);
  await write.commit(body.length);
}

describe("AptCacheStore", () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), "devhatchery-apt-store-"));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("keeps complete files only, finds them again after a restart, and expires index files by age", async () => {
    const store = new AptCacheStore(dir, 1024 * 1024, log);
    await store.open();
    await put(store, "http://deb/pool/a.deb", "aaaa");
    // The upstream announced more than arrived: a cut download is never served.
    await put(store, "http://deb/pool/cut.deb", "cc", 10);
    expect(store.find("http://deb/pool/cut.deb")).toBeUndefined();
    const found = store.find("http://deb/pool/a.deb");
    expect(found?.entry).toMatchObject({ url: "http://deb/pool/a.deb", size: 4 });
    expect(readFileSync(found!.path, "utf8")).toBe("aaaa");
    expect(readdirSync(join(dir, ".staging"))).toEqual([]);

    const reopened = new AptCacheStore(dir, 1024 * 1024, log);
    await reopened.open();
    expect(reopened.find("http://deb/pool/a.deb")?.entry.size).toBe(4);
    expect(reopened.bytes).toBe(4);
    expect(reopened.find("http://deb/pool/a.deb", -1)).toBeUndefined();
  });

  it("drops the least recently used files when it grows past its size", async () => {
    const store = new AptCacheStore(dir, 10, log);
    await store.open();
    await put(store, "http://deb/pool/1.deb", "1111");
    await put(store, "http://deb/pool/2.deb", "2222");
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(store.find("http://deb/pool/1.deb")).toBeDefined();
    await put(store, "http://deb/pool/3.deb", "3333");
    // 2 was used least recently (1 was just read): it goes.
    expect(store.find("http://deb/pool/2.deb")).toBeUndefined();
    expect(store.find("http://deb/pool/1.deb")).toBeDefined();
    expect(store.find("http://deb/pool/3.deb")).toBeDefined();
    expect(store.bytes).toBe(8);
  });
});
