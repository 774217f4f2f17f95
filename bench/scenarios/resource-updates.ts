import { ResourceUpdatedNotificationSchema } from "@modelcontextprotocol/sdk/types.js";
import { latencyTable } from "../bench-table.ts";
import { startMcpFixture } from "../mcp-fixture.ts";
import type { Scenario } from "../scenario.ts";
import { formatMs, summarize } from "../stats.ts";

const PATH = "/work/bench/watched.txt";
const NOTIFICATION_TIMEOUT_MS = 10_000;
// Lets a write's trailing events (a debounced second batch) arrive before the next sample starts its clock.
const SETTLE_MS = 300;

/** A subscribed file changed through `fs_write`: time until `notifications/resources/updated` for its URI arrives. */
export const resourceUpdates: Scenario = {
  title: "File change → `notifications/resources/updated`",
  async run(options, signal) {
    const fixture = await startMcpFixture("devhatchery-test/runner:dev", "watch");
    try {
      const runnerId = await fixture.spawnRunner();
      const uri = `devhatchery://runners/${runnerId}/files${PATH}`;
      let arrivals: number[] = [];
      fixture.client.setNotificationHandler(ResourceUpdatedNotificationSchema, (notification) => {
        if (notification.params.uri === uri) arrivals.push(performance.now());
      });
      await fixture.call("fs_write", { runner: runnerId, path: PATH, content: "0\n" });
      await fixture.client.subscribeResource({ uri });
      const fromCall: number[] = [];
      const fromWritten: number[] = [];
      for (let i = -2; i < options.updateSamples; i++) {
        signal.throwIfAborted();
        await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
        arrivals = [];
        const started = performance.now();
        await fixture.call("fs_write", { runner: runnerId, path: PATH, content: `${i}\n` });
        const written = performance.now();
        const deadline = started + NOTIFICATION_TIMEOUT_MS;
        while (arrivals.length === 0) {
          if (performance.now() > deadline)
            throw new Error(
              `no notifications/resources/updated for "${uri}" within ${NOTIFICATION_TIMEOUT_MS} ms of an fs_write`,
            );
          await new Promise((resolve) => setTimeout(resolve, 1));
        }
        // The first two rounds warm up the watch and the session's stream.
        if (i < 0) continue;
        fromCall.push(arrivals[0]! - started);
        fromWritten.push(arrivals[0]! - written);
      }
      await fixture.client.unsubscribeResource({ uri });
      const call = summarize(fromCall);
      const written = summarize(fromWritten);
      return {
        lines: [
          `One MCP session subscribed (\`resources/subscribe\`) to a file resource (\`devhatchery://runners/{runner}/files${PATH}\`); ` +
            "each sample rewrites the file with `fs_write` and waits for the notification on the same session (SSE stream). " +
            "There is no peer: Docker has no file-change events. No ratio.",
          "",
          ...latencyTable(
            [
              { path: "`fs_write` call start → notification", summary: call },
              { path: "`fs_write` returned → notification", summary: written },
            ],
            "ratio",
          ).map((line) => line.replace(/\| 1× \|$/, "| — |")),
        ],
        goals: [
          {
            what: "file change → `resources/updated`",
            goal: "p95 < 150 ms",
            measured: `p95 ${formatMs(call.p95)} ms from the write call (p50 ${formatMs(call.p50)} ms)`,
            met: call.p95 < 150,
          },
        ],
      };
    } finally {
      await fixture.close();
    }
  },
};
