import type { McpFixture } from "./mcp-fixture.ts";

/** The file the control plane writes into a runner whose apt goes through its apt cache. */
const APT_CACHE_DETECT = "/etc/apt/devhatchery-apt-proxy";
const BENCH_SOURCES = "/etc/apt/sources.list.d/devhatchery-bench.list";
const APT_TIMEOUT_MS = 240_000;

/** Where a runner's apt installs from and what: the image's own sources, or one repository only. */
export interface AptSource {
  packages: string[];
  /** apt-get options (`-o …`) given to every apt-get call. */
  aptOptions: string[];
  /** A shell command run once in the runner before apt, not timed. */
  setup?: string;
}

/** The image's own sources (Debian's archive over http). */
export function imageSources(packages: string[]): AptSource {
  return { packages, aptOptions: [] };
}

/** Only the unsigned repository at `url` (suite stable, component main), never the image's own sources. */
export function repositorySource(url: string, packages: string[]): AptSource {
  return {
    packages,
    setup: `echo "deb [trusted=yes] ${url} stable main" > ${BENCH_SOURCES}`,
    aptOptions: [
      `-o Dir::Etc::sourcelist=${BENCH_SOURCES}`,
      "-o Dir::Etc::sourceparts=-",
      "-o APT::Get::List-Cleanup=0",
    ],
  };
}

/** The three phases of `apt-get update && apt-get install` in ms, each one `exec` call through MCP. */
export interface InstallPhases {
  /** `apt-get update`: fetch and parse the indexes. */
  updateMs: number;
  /** `apt-get install --download-only`: fetch the package files. */
  downloadMs: number;
  /** `apt-get install` of the files downloaded: dpkg unpacks and configures. */
  unpackMs: number;
  /**
   * With `floors`: update and download run again right after themselves, with nothing left to fetch: apt's own work
   * (verify, parse the indexes, resolve), which no download cache can remove.
   */
  updateAgainMs?: number;
  downloadAgainMs?: number;
}

/** Runs one command through the MCP `exec` tool until it ends; returns its wall time in ms, throws unless it exits 0. */
async function timedExec(fixture: McpFixture, runner: string, command: string): Promise<number> {
  const started = performance.now();
  const result = await fixture.call("exec", {
    runner,
    command,
    env: { DEBIAN_FRONTEND: "noninteractive" },
    yield_ms: APT_TIMEOUT_MS,
    timeout_ms: APT_TIMEOUT_MS,
  });
  const ms = performance.now() - started;
  if (result.state !== "exited" || result.exit_code !== 0)
    throw new Error(
      `\`${command}\` in runner "${runner}" ended ${String(result.state)} with exit code ${String(result.exit_code)} ` +
        `(${String(result.reason)}): ${String(result.stderr).slice(-800)}`,
    );
  return ms;
}

/**
 * Spawns a fresh runner (tmpfs), installs `source.packages` with --no-install-recommends, checks dpkg has them, and
 * removes the runner. `throughCache` says whether its apt must (or must not) be pointed at the apt cache; `floors`
 * also times update and download again with nothing to fetch.
 */
export async function installInFreshRunner(
  fixture: McpFixture,
  image: string,
  source: AptSource,
  { throughCache, floors = false }: { throughCache: boolean; floors?: boolean },
): Promise<InstallPhases> {
  const runner = (await fixture.call("runner_spawn", { image, storage: "tmpfs" })).runner_id as string;
  try {
    const detect = await fixture.call("exec", { runner, command: ["test", "-e", APT_CACHE_DETECT] });
    if ((detect.exit_code === 0) !== throughCache)
      throw new Error(
        `runner "${runner}" ${throughCache ? "has no" : "has"} ${APT_CACHE_DETECT}: its apt does ${throughCache ? "not " : ""}` +
          `go through the apt cache; ${throughCache ? "is the control plane built with it (npm run build)?" : "start the peer with DEVHATCHERY_APT_CACHE=false."}`,
      );
    if (source.setup) await timedExec(fixture, runner, source.setup);
    const options = source.aptOptions.join(" ");
    const install = `apt-get install -y -qq --no-install-recommends ${options}`;
    const packages = source.packages.join(" ");
    const update = `apt-get update -qq ${options}`;
    const download = `${install} --download-only ${packages}`;
    const phases: InstallPhases = {
      updateMs: await timedExec(fixture, runner, update),
      updateAgainMs: floors ? await timedExec(fixture, runner, update) : undefined,
      downloadMs: await timedExec(fixture, runner, download),
      downloadAgainMs: floors ? await timedExec(fixture, runner, download) : undefined,
      unpackMs: await timedExec(fixture, runner, `${install} ${packages}`),
    };
    await timedExec(fixture, runner, `dpkg -s ${packages} >/dev/null`);
    return phases;
  } finally {
    await fixture.call("runner_remove", { runner }).catch(() => undefined);
  }
}

/** The apt cache's counters on a control plane's /metrics. */
export interface AptCacheCounters {
  cacheBytes: number;
  upstreamBytes: number;
  hits: number;
  misses: number;
}

export async function readAptCacheCounters(fixture: McpFixture): Promise<AptCacheCounters> {
  const response = await fetch(fixture.url.replace(/\/mcp$/, "/metrics"));
  if (!response.ok) throw new Error(`GET /metrics of ${fixture.url} answered ${response.status}`);
  const text = await response.text();
  const value = (series: string): number => {
    const line = text.split("\n").find((candidate) => candidate.startsWith(`${series} `));
    return line ? Number(line.slice(series.length + 1)) : 0;
  };
  return {
    cacheBytes: value('devhatchery_apt_cache_bytes_total{source="cache"}'),
    upstreamBytes: value('devhatchery_apt_cache_bytes_total{source="upstream"}'),
    hits: value('devhatchery_apt_cache_requests_total{result="hit"}'),
    misses: value('devhatchery_apt_cache_requests_total{result="miss"}'),
  };
}

/** `after` minus `before`, counter by counter. */
export function counterDelta(after: AptCacheCounters, before: AptCacheCounters): AptCacheCounters {
  return {
    cacheBytes: after.cacheBytes - before.cacheBytes,
    upstreamBytes: after.upstreamBytes - before.upstreamBytes,
    hits: after.hits - before.hits,
    misses: after.misses - before.misses,
  };
}
