// Bundles the agent into one CommonJS file (dist/agent.cjs) that runs on the agent's own Node runtime.
import { build } from "esbuild";


await build({
  entryPoints: [new URL("../src/main.ts", import.meta.url).pathname],
  outfile: new URL("../dist/agent.cjs", import.meta.url).pathname,
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node24",
  minify: false,
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
});
