import { mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import type { OutputChunk } from "./output-chunk.js";
import { SpillSegments } from "./spill-segments.js";

function chunks(count: number, size: number, from = 0): OutputChunk[] {
  return Array.from({ length: count }, (_, i) => ({
    seq: from / size + i + 1,
    stream: "stdout",
    cursor: from + i * size,
    data: Buffer.alloc(size, 97 + ((from / size + i) % 26)),
  }));
}

describe("SpillSegments", () => {
  let dir: string | undefined;
  afterEach(async () => {
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("splits one large batch into segments of about segmentBytes, so the cap can drop the oldest part of it", async () => {
    dir = await mkdtemp(join(tmpdir(), "spill-"));
    const spill = new SpillSegments(join(dir, "exec"), 25);
    await spill.append(chunks(10, 10));
    expect(spill.count).toBe(5);
    expect(spill.bytes).toBe(100);
    expect(await readdir(join(dir, "exec"))).toHaveLength(5);
    expect(spill.dropOldest()).toBe(20);
    expect(spill.bytes).toBe(80);
    const read: OutputChunk[] = [];
    for (let cursor = 20, calls = 0; cursor < 100 && calls < 10; calls++) {
      const page = await spill.read(cursor, 1000);
      read.push(...page);
      cursor = page.at(-1) ? page.at(-1)!.cursor + page.at(-1)!.data.length : 100;
    }
    expect(Buffer.concat(read.map((chunk) => chunk.data))).toEqual(
      Buffer.concat(chunks(8, 10, 20).map((chunk) => chunk.data)),
    );
    await spill.destroy();
  });

  it("fills the last segment's room before starting a new one, and keeps a chunk larger than a segment whole", async () => {
    dir = await mkdtemp(join(tmpdir(), "spill-"));
    const spill = new SpillSegments(join(dir, "exec"), 25);
    await spill.append(chunks(1, 10));
    await spill.append(chunks(1, 10, 10));
    expect(spill.count).toBe(1);
    await spill.append([{ seq: 3, stream: "stderr", cursor: 20, data: Buffer.alloc(100, 120) }]);
    expect(spill.count).toBe(2);
    await spill.append(chunks(1, 10, 120));
    expect(spill.count).toBe(3);
    expect((await spill.read(20, 1000))[0]).toMatchObject({
      seq: 3,
      stream: "stderr",
      cursor: 20,
      data: Buffer.alloc(100, 120),
    });
    await spill.destroy();
  });
});
