import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ratio } from "../bench-table.ts";
import { dockerCp } from "../docker-peer.ts";
import { startMcpFixture, type McpFixture } from "../mcp-fixture.ts";
import type { Scenario } from "../scenario.ts";
import { formatMs, measure, summarize, type Summary } from "../stats.ts";

const RANGE_BYTES = 1024 * 1024;

function sha256(data: Buffer): string {
  return createHash("sha256").update(data).digest("hex");
}

/** MCP in: one `fs_write` (base64) per 1 MiB part file, then one `exec` joining them, since fs_write has no offset. */
async function mcpWriteInRanges(fixture: McpFixture, runner: string, payload: Buffer, target: string): Promise<void> {
  for (let offset = 0, part = 0; offset < payload.length; offset += RANGE_BYTES, part++) {
    const content = payload.subarray(offset, offset + RANGE_BYTES).toString("base64");
    await fixture.call("fs_write", {
      runner,
      path: `/work/mcp-parts/part-${String(part).padStart(5, "0")}`,
      content,
      encoding: "base64",
    });
  }
  const joined = await fixture.call("exec", {
    runner,
    command: `cat /work/mcp-parts/part-* > ${target} && rm -r /work/mcp-parts`,
  });
  if (joined.exit_code !== 0) throw new Error(`joining the parts into "${target}" failed: ${String(joined.stderr)}`);
}

/** MCP out: `fs_read` (base64) in 1 MiB ranges, each pinned to the first range's etag. */
async function mcpReadInRanges(fixture: McpFixture, runner: string, path: string): Promise<Buffer> {
  const parts: Buffer[] = [];
  let ifMatch: string | undefined;
  for (let offset = 0; ; offset += RANGE_BYTES) {
    const read = await fixture.call("fs_read", {
      runner,
      path,
      encoding: "base64",
      offset,
      length: RANGE_BYTES,
      ...(ifMatch ? { if_match: ifMatch } : {}),
    });
    ifMatch ??= (read.file as { etag: string }).etag;
    parts.push(Buffer.from(read.content as string, "base64"));
    if (read.eof) return Buffer.concat(parts);
  }
}

function row(path: string, summary: Summary, megabytes: number, reference?: Summary): string {
  const mbps = (megabytes / (summary.p50 / 1000)).toFixed(0);
  return `| ${path} | ${summary.n} | ${formatMs(summary.p50)} | ${formatMs(summary.p95)} | ${mbps} MB/s | ${reference ? ratio(reference.p50, summary.p50) : "1×"} |`;
}

/** A file of `fileMb` MB in and out: agent streams and MCP ranges against `docker cp`, every read checked with sha256. */
export const fileTransfer: Scenario = {
  title: "File transfer in and out",
  async run(options, signal) {
    const fixture = await startMcpFixture("devhatchery-test/runner:dev", "file");
    const scratch = await mkdtemp(join(tmpdir(), "devhatchery-bench-"));
    try {
      const runnerId = await fixture.spawnRunner();
      const { agent, container } = await fixture.direct(runnerId);
      const payload = randomBytes(options.fileMb * 1024 * 1024);
      const digest = sha256(payload);
      const local = join(scratch, "payload.bin");
      await writeFile(local, payload);
      const timing = { warmup: 1, samples: options.fileSamples, signal };
      const check = (data: Buffer, what: string): void => {
        if (sha256(data) !== digest)
          throw new Error(`${what} returned ${data.length} bytes that differ from the ${payload.length} written`);
      };
      const agentIn = summarize(
        await measure(() => agent.fs.write("/work/agent.bin", payload, { createParents: true, mode: 0 }), timing),
      );
      const agentOut = summarize(
        await measure(async () => check((await agent.fs.read("/work/agent.bin", 0, 0)).data, "agent Read"), timing),
      );
      const cpIn = summarize(await measure(() => dockerCp(local, `${container.id}:/work/cp.bin`), timing));
      const cpOut = summarize(
        await measure(async () => {
          const target = join(scratch, "out.bin");
          await dockerCp(`${container.id}:/work/cp.bin`, target);
          check(await readFile(target), "docker cp");
          await rm(target);
        }, timing),
      );
      const mcpIn = summarize(
        await measure(() => mcpWriteInRanges(fixture, runnerId, payload, "/work/mcp.bin"), timing),
      );
      check((await agent.fs.read("/work/mcp.bin", 0, 0)).data, "the file fs_write parts made");
      const mcpOut = summarize(
        await measure(
          async () => check(await mcpReadInRanges(fixture, runnerId, "/work/mcp.bin"), "fs_read ranges"),
          timing,
        ),
      );
      const mb = options.fileMb;
      const inRatio = cpIn.p50 / agentIn.p50;
      const outRatio = cpOut.p50 / agentOut.p50;
      return {
        lines: [
          `${mb} MB of random bytes into and out of one runner, ms per whole transfer; every "out" is checked with sha256. ` +
            "Agent = its streamed Write/Read RPCs called directly. MCP = what an MCP client can do with the tools: in, one " +
            "`fs_write` (base64) per 1 MiB part file plus one `exec` joining them (`fs_write` takes at most 16 MiB and has " +
            "no offset); out, `fs_read` (base64) in 1 MiB ranges (its per-call cap) pinned with `if_match`. Base64 and JSON " +
            "cost a third more bytes and a parse per range. Ratio = `docker cp` p50 ÷ this p50, higher is better.",
          "",
          "| path | n | p50 (ms) | p95 (ms) | throughput at p50 | vs docker cp |",
          "|---|---|---|---|---|---|",
          row("DevHatchery: agent streamed Write (in)", agentIn, mb, cpIn),
          row("DevHatchery: MCP `fs_write` 1 MiB parts + join (in)", mcpIn, mb, cpIn),
          row("peer: `docker cp` in", cpIn, mb),
          row("DevHatchery: agent streamed Read (out)", agentOut, mb, cpOut),
          row("DevHatchery: MCP `fs_read` 1 MiB ranges (out)", mcpOut, mb, cpOut),
          row("peer: `docker cp` out", cpOut, mb),
        ],
        goals: [
          {
            what: `file transfer ${mb} MB in and out (agent)`,
            goal: "≥ 1.5× `docker cp` throughput",
            measured: `in ${inRatio.toFixed(2)}×, out ${outRatio.toFixed(2)}×`,
            met: inRatio >= 1.5 && outRatio >= 1.5,
          },
        ],
      };
    } finally {
      await rm(scratch, { recursive: true, force: true });
      await fixture.close();
    }
  },
};
