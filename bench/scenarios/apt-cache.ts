import {
  counterDelta,
  installInFreshRunner,
  readAptCacheCounters,
  type AptCacheCounters,
  type InstallPhases,
} from "../apt-install.ts";
import { debianArchive, localRepository, type AptOrigin } from "../apt-origin.ts";
import { latencyTable, ratio } from "../bench-table.ts";
import { startMcpFixture } from "../mcp-fixture.ts";
import type { Scenario } from "../scenario.ts";
import { formatMs, summarize, type Summary } from "../stats.ts";

const IMAGE = "devhatchery-test/runner:dev";
/** A fixed set from Debian bookworm main: 23 packages, about 5 MB of downloads with --no-install-recommends. */
const DEBIAN_PACKAGES = ["jq", "tree", "file", "curl"];
const GOAL_RATIO = 5;

interface PairSample {
  first: InstallPhases;
  second: InstallPhases;
  firstCounters: AptCacheCounters;
  secondCounters: AptCacheCounters;
}

/** A fresh control plane (its own state folder: an empty cache), then two fresh runners installing one after the other. */
async function measurePair(origin: AptOrigin): Promise<PairSample> {
  const fixture = await startMcpFixture(IMAGE, "apt", { DEVHATCHERY_APT_CACHE_PORT: "0" });
  try {
    await using attached = await origin.attach(fixture);
    const start = await readAptCacheCounters(fixture);
    const first = await installInFreshRunner(fixture, IMAGE, attached.source, { throughCache: true });
    const middle = await readAptCacheCounters(fixture);
    const second = await installInFreshRunner(fixture, IMAGE, attached.source, { throughCache: true, floors: true });
    const end = await readAptCacheCounters(fixture);
    attached.assertFetchedOnce();
    const secondCounters = counterDelta(end, middle);
    if (secondCounters.cacheBytes === 0)
      throw new Error(`the second runner got nothing from the apt cache: ${JSON.stringify(secondCounters)}`);
    return { first, second, firstCounters: counterDelta(middle, start), secondCounters };
  } finally {
    await fixture.close();
  }
}

const total = (phases: InstallPhases): number => phases.updateMs + phases.downloadMs + phases.unpackMs;
const installOnly = (phases: InstallPhases): number => phases.downloadMs + phases.unpackMs;
/** The install with nothing to fetch: apt's own work in update and download, then dpkg (NaN without `floors`). */
const floor = (phases: InstallPhases): number =>
  (phases.updateAgainMs ?? Number.NaN) + (phases.downloadAgainMs ?? Number.NaN) + phases.unpackMs;
const megabytes = (bytes: number): string => `${(bytes / 1e6).toFixed(2)} MB`;
const p50Of = <T>(samples: T[], pick: (sample: T) => number): number => summarize(samples.map(pick)).p50;

/** `| runner | update | download | unpack + configure | sum |`, p50 of each in ms. */
function phaseRow(path: string, samples: InstallPhases[], columns: Array<(phases: InstallPhases) => number>): string {
  return `| ${path} | ${columns.map((pick) => formatMs(p50Of(samples, pick))).join(" | ")} |`;
}

function counterRow(path: string, counters: AptCacheCounters[]): string {
  const p50 = (pick: (counter: AptCacheCounters) => number): number => p50Of(counters, pick);
  return `| ${path} | ${megabytes(p50((counter) => counter.upstreamBytes))} | ${megabytes(p50((counter) => counter.cacheBytes))} | ${p50((counter) => counter.misses)} | ${p50((counter) => counter.hits)} |`;
}

/** apt-get in a fresh runner with an empty apt cache, then in another with it warm, beside a control plane without it. */
export const aptCache: Scenario = {
  title: "Apt cache: first vs second install in a fresh runner",
  async run(options, signal) {
    await using origin = options.smoke ? await localRepository(IMAGE, 3, 1024 * 1024) : debianArchive(DEBIAN_PACKAGES);
    const pairs: PairSample[] = [];
    const peer: InstallPhases[] = [];
    const off = await startMcpFixture(IMAGE, "apt-off", { DEVHATCHERY_APT_CACHE: "false" });
    try {
      await using offAttached = await origin.attach(off);
      for (let i = 0; i < options.aptSamples; i++) {
        signal.throwIfAborted();
        pairs.push(await measurePair(origin));
        peer.push(await installInFreshRunner(off, IMAGE, offAttached.source, { throughCache: false }));
      }
    } finally {
      await off.close();
    }
    const rows = (pick: (phases: InstallPhases) => number): Summary[] => [
      summarize(pairs.map((pair) => pick(pair.first))),
      summarize(pairs.map((pair) => pick(pair.second))),
      summarize(peer.map(pick)),
    ];
    const [first, second, uncached] = rows(total) as [Summary, Summary, Summary];
    const [firstInstall, secondInstall, uncachedInstall] = rows(installOnly) as [Summary, Summary, Summary];
    const seconds = pairs.map((pair) => pair.second);
    const phases = [
      (phases: InstallPhases) => phases.updateMs,
      (phases: InstallPhases) => phases.downloadMs,
      (phases: InstallPhases) => phases.unpackMs,
      total,
    ];
    const floorMs = p50Of(seconds, floor);
    return {
      lines: [
        `Installs ${origin.what} with \`apt-get install -y -qq --no-install-recommends\` in a fresh \`${IMAGE}\` runner ` +
          "(tmpfs). Each sample starts a fresh control plane with its own state folder (an empty apt cache, " +
          "`DEVHATCHERY_APT_CACHE_PORT=0`); the first runner installs through the empty cache, then a second fresh runner " +
          "installs the same set with the cache warm. Peer: the same install in a runner of a control plane with " +
          "`DEVHATCHERY_APT_CACHE=false` (apt straight to the repository), one per sample, after the pair. An install is " +
          "three `exec` calls through MCP, each timed to its result: `apt-get update -qq`, `apt-get install " +
          "--download-only`, then `apt-get install` (dpkg unpacks and configures the files downloaded); update + install " +
          "is their sum, install only the last two. In the second runner `apt-get update` and the download also run once " +
          "more right after themselves (not in its sums): with nothing left to fetch, that is apt's own work. Spawning " +
          "and removing runners is not timed.",
        "",
        "Update + install:",
        "",
        ...latencyTable(
          [
            { path: "DevHatchery: first runner, empty cache", summary: first, reference: uncached },
            { path: "DevHatchery: second runner, warm cache", summary: second, reference: uncached },
            { path: "peer: cache off", summary: uncached },
          ],
          "vs cache off",
        ),
        "",
        "Install only (download + unpack, after an untimed update):",
        "",
        ...latencyTable(
          [
            { path: "DevHatchery: first runner, empty cache", summary: firstInstall, reference: uncachedInstall },
            { path: "DevHatchery: second runner, warm cache", summary: secondInstall, reference: uncachedInstall },
            { path: "peer: cache off", summary: uncachedInstall },
          ],
          "vs cache off",
        ),
        "",
        "Where the time goes (p50 of each phase, ms):",
        "",
        "| runner | `apt-get update` | `install --download-only` | `install` (dpkg unpack + configure) | sum |",
        "|---|---|---|---|---|",
        phaseRow(
          "first, empty cache",
          pairs.map((pair) => pair.first),
          phases,
        ),
        phaseRow("second, warm cache", seconds, phases),
        phaseRow("second, the same commands again: nothing to fetch", seconds, [
          (phases) => phases.updateAgainMs ?? Number.NaN,
          (phases) => phases.downloadAgainMs ?? Number.NaN,
          (phases) => phases.unpackMs,
          floor,
        ]),
        phaseRow("peer: cache off", peer, phases),
        "",
        "Bytes the apt cache moved per runner (p50 of the samples, from `devhatchery_apt_cache_*` on /metrics; the " +
          "second runner's include its repeated update and download):",
        "",
        "| runner | fetched upstream | served from cache | misses (kept) | hits |",
        "|---|---|---|---|---|",
        counterRow(
          "first, empty cache",
          pairs.map((pair) => pair.firstCounters),
        ),
        counterRow(
          "second, warm cache",
          pairs.map((pair) => pair.secondCounters),
        ),
        "",
        `First ÷ second (update + install): p50 ${ratio(first.p50, second.p50)}, p95 ${ratio(first.p95, second.p95)}; ` +
          `install only: p50 ${ratio(firstInstall.p50, secondInstall.p50)}. Of the second install's p50 ` +
          `(${formatMs(second.p50)} ms), ${formatMs(floorMs)} ms is work with nothing to fetch (apt verifying and ` +
          "parsing its indexes and resolving, run again in the same runner, and dpkg unpacking and configuring): no " +
          `download cache removes it, so first ÷ that floor, ${ratio(first.p50, floorMs)}, is the most any cache of ` +
          "downloads can give on this machine and network.",
      ],
      // The smoke run installs from a repository on this machine: it proves the path, not the goal's figure.
      goals: options.smoke
        ? []
        : [
            {
              what: `\`apt-get update && install\` of \`${DEBIAN_PACKAGES.join(" ")}\` in a fresh runner, second vs first (apt cache)`,
              goal: `second ≥ ${GOAL_RATIO}× faster than the first (first p50 ÷ second p50)`,
              measured:
                `first p50 ${formatMs(first.p50)} ms, second p50 ${formatMs(second.p50)} ms: ${ratio(first.p50, second.p50)} ` +
                `(install only ${ratio(firstInstall.p50, secondInstall.p50)}); cache off p50 ${formatMs(uncached.p50)} ms; ` +
                `with nothing to fetch ${formatMs(floorMs)} ms (ceiling ${ratio(first.p50, floorMs)})`,
              met: first.p50 >= GOAL_RATIO * second.p50,
            },
          ],
    };
  },
};
