// Benchmarks the runner agent against its peers on the same machine, in one run:
//   exec round trip of `true`: agent (gRPC) vs `docker exec` (Engine API and CLI)
//   100 MB file in and out: agent streamed write/read vs `docker cp`
//   agent idle RSS
// Usage: npm run bench:agent   (BENCH_IMAGE, BENCH_SAMPLES=<exec samples>, BENCH_OUTPUT=<markdown file>)
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startBenchRunner } from "./bench-runner.ts";
import { DOCKER_CLI, dockerApiExec, dockerCliExec, dockerCp } from "./docker-peer.ts";
import { describeMachine } from "./machine.ts";
import { writeBenchSection } from "./report.ts";
import { formatMs, measure, summarize, type Summary } from "./stats.ts";

const image = process.env.BENCH_IMAGE ?? "devhatchery-test/runner:dev";
const execSamples = Number(process.env.BENCH_SAMPLES ?? 200);
const fileMb = Number(process.env.BENCH_FILE_MB ?? 100);
const fileSamples = Number(process.env.BENCH_FILE_SAMPLES ?? 5);
const output = process.env.BENCH_OUTPUT ?? "docs/benchmarks.md";

function row(name: string, summary: Summary, baseline?: Summary): string {
  const ratio = baseline ? `${(summary.p50 / baseline.p50).toFixed(1)}×` : "1×";
  return `| ${name} | ${summary.n} | ${formatMs(summary.p50)} | ${formatMs(summary.p95)} | ${ratio} |`;
}

function throughputRow(name: string, summary: Summary, megabytes: number, baseline?: Summary): string {
  const mbps = (ms: number): string => (megabytes / (ms / 1000)).toFixed(0);
  const ratio = baseline ? `${(baseline.p50 / summary.p50).toFixed(2)}×` : "1×";
  return `| ${name} | ${summary.n} | ${formatMs(summary.p50)} | ${mbps(summary.p50)} MB/s | ${ratio} |`;
}

async function main(): Promise<void> {
  const runner = await startBenchRunner(image);
  const scratch = await mkdtemp(join(tmpdir(), "devhatchery-bench-"));
  try {
    const docker = runner.docker;
    const version = (await docker.version()).Version;
    process.stderr.write(`bench: runner ${runner.container.id.slice(0, 12)} from ${image}\n`);

    const rssBytes = await idleRss(runner.address, runner.token);

    process.stderr.write(`bench: exec round trip (${execSamples} samples per peer)\n`);
    const agentExec = summarize(
      await measure(
        () =>
          runner.agent.exec.start(
            { argv: ["true"], shell: "", cwd: "", env: {}, timeoutMs: 0, stdin: Buffer.alloc(0), stdinOpen: false },
            () => {},
          ).ended,
        { warmup: 20, samples: execSamples },
      ),
    );
    const apiExec = summarize(
      await measure(() => dockerApiExec(runner.container, ["true"]), {
        warmup: 5,
        samples: Math.max(10, Math.round(execSamples / 4)),
      }),
    );
    const cliExec = summarize(
      await measure(() => dockerCliExec(runner.container.id, ["true"]), {
        warmup: 3,
        samples: Math.max(10, Math.round(execSamples / 8)),
      }),
    );

    process.stderr.write(`bench: ${fileMb} MB in and out (${fileSamples} samples per peer)\n`);
    const payload = randomBytes(fileMb * 1024 * 1024);
    const digest = createHash("sha256").update(payload).digest("hex");
    const local = join(scratch, "payload.bin");
    await writeFile(local, payload);
    const agentIn = summarize(
      await measure(() => runner.agent.fs.write("/work/payload.bin", payload, { createParents: true, mode: 0 }), {
        warmup: 1,
        samples: fileSamples,
      }),
    );
    const agentOut = summarize(
      await measure(
        async () => {
          const { data } = await runner.agent.fs.read("/work/payload.bin", 0, 0);
          if (createHash("sha256").update(data).digest("hex") !== digest)
            throw new Error("agent read returned different bytes");
        },
        { warmup: 1, samples: fileSamples },
      ),
    );
    const cpIn = summarize(
      await measure(() => dockerCp(local, `${runner.container.id}:/work/payload-cp.bin`), {
        warmup: 1,
        samples: fileSamples,
      }),
    );
    const cpOut = summarize(
      await measure(
        async () => {
          const target = join(scratch, "out.bin");
          await dockerCp(`${runner.container.id}:/work/payload-cp.bin`, target);
          if (
            createHash("sha256")
              .update(await readFile(target))
              .digest("hex") !== digest
          )
            throw new Error("docker cp returned different bytes");
          await rm(target);
        },
        { warmup: 1, samples: fileSamples },
      ),
    );

    const lines = [
      `Measured ${new Date().toISOString().slice(0, 10)} on ${describeMachine(version)}; runner image \`${image}\`, peer CLI \`${DOCKER_CLI}\`.`,
      "",
      "**Exec round trip of `true`** (start to exit status, ms; ratio = p50 ÷ agent p50):",
      "",
      "| path | n | p50 | p95 | vs agent |",
      "|---|---|---|---|---|",
      row("agent (gRPC Exec)", agentExec),
      row("`docker exec` via Engine API", apiExec, agentExec),
      row("`docker exec` CLI", cliExec, agentExec),
      "",
      `Goal: agent p50 ≤ 5 ms and ≥ 10× faster than \`docker exec\` — ${agentExec.p50 <= 5 && apiExec.p50 / agentExec.p50 >= 10 ? "met" : "**missed**"} (p50 ${formatMs(agentExec.p50)} ms, ${(apiExec.p50 / agentExec.p50).toFixed(1)}× faster than the API, ${(cliExec.p50 / agentExec.p50).toFixed(1)}× than the CLI).`,
      "",
      `**${fileMb} MB file in and out** (ms per transfer, throughput at p50; ratio = peer p50 ÷ this p50, higher is better):`,
      "",
      "| path | n | p50 | throughput | vs docker cp |",
      "|---|---|---|---|---|",
      throughputRow("agent streamed Write (in)", agentIn, fileMb, cpIn),
      throughputRow("`docker cp` in", cpIn, fileMb),
      throughputRow("agent streamed Read (out, sha256 checked)", agentOut, fileMb, cpOut),
      throughputRow("`docker cp` out (sha256 checked)", cpOut, fileMb),
      "",
      `Goal: ≥ 1.5× \`docker cp\` throughput — in ${(cpIn.p50 / agentIn.p50).toFixed(2)}×, out ${(cpOut.p50 / agentOut.p50).toFixed(2)}×: ${cpIn.p50 / agentIn.p50 >= 1.5 && cpOut.p50 / agentOut.p50 >= 1.5 ? "met" : "**missed**"}.`,
      "",
      `**Agent idle RSS**: ${(rssBytes / 1024 / 1024).toFixed(1)} MB (goal < 60 MB: ${rssBytes < 60 * 1024 * 1024 ? "met" : "**missed**"}), read from the agent's debug endpoint right after start.`,
    ];
    await writeBenchSection(output, "Runner agent", "npm run bench:agent", lines);
    process.stdout.write(`${lines.join("\n")}\n`);
  } finally {
    await rm(scratch, { recursive: true, force: true });
    await runner.close();
  }
}

async function idleRss(address: string, token: string): Promise<number> {
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  const response = await fetch(`http://${address}:7071/debug.json`, { headers: { authorization: `Bearer ${token}` } });
  const body = (await response.json()) as { memory: { rss_bytes: number } };
  return body.memory.rss_bytes;
}

main().catch((error: unknown) => {
  process.stderr.write(`bench: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
