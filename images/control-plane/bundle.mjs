// Stages what the control-plane image needs under images/control-plane/dist/app, laid out like the repository so the
// control plane's defaults (the agent bundle beside it, its package.json for the version) hold inside the image too:
//   control-plane/dist/main.js     the control plane bundled into one ES module (no node_modules in the image)
//   control-plane/package.json     its version
//   runner-agent/dist/agent.cjs    the agent bundle for injected delivery, with the pty addon beside it
//   images/{agent,runner}/         the Dockerfiles `devhatchery images build` builds the runner image from
// Run `npm run build` first (it builds proto/dist and runner-agent/dist/agent.cjs).
import { copyFile, mkdir, readdir, readFile, rm } from "node:fs/promises";
import { relative } from "node:path";
import { build } from "esbuild";

const repo = new URL("../../", import.meta.url);
const app = new URL("dist/app/", import.meta.url);
const agentDist = new URL("runner-agent/dist/", repo);

const agentFiles = (await readdir(agentDist).catch(() => [])).filter(
  (name) => name === "agent.cjs" || name.endsWith(".node"),
);
if (!agentFiles.includes("agent.cjs")) {
  throw new Error(`bundle: ${agentDist.pathname}agent.cjs is missing; run \`npm run build\` first`);
}

/**
 * Modules that find files relative to themselves (`new URL("../package.json", import.meta.url)`) keep working: each
 * control-plane module gets the URL it would have had unbundled, relative to the bundle, which sits where
 * control-plane/dist/main.js sits.
 */
const controlPlaneDist = new URL("control-plane/dist/", repo).pathname;
const moduleUrls = {
  name: "module-urls",
  setup(pluginBuild) {
    pluginBuild.onLoad({ filter: /[\\/]control-plane[\\/]dist[\\/].*\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const fromBundle = JSON.stringify(`./${relative(controlPlaneDist, args.path)}`);
      return {
        contents: source.replaceAll("import.meta.url", `new URL(${fromBundle}, import.meta.url).href`),
        loader: "js",
      };
    });
  },
};

await rm(app, { recursive: true, force: true });
await mkdir(new URL("control-plane/dist/", app), { recursive: true });
await mkdir(new URL("runner-agent/dist/", app), { recursive: true });
for (const image of ["agent", "runner"]) await mkdir(new URL(`images/${image}/`, app), { recursive: true });

await build({
  entryPoints: [new URL("control-plane/dist/main.js", repo).pathname],
  outfile: new URL("control-plane/dist/main.js", app).pathname,
  bundle: true,
  platform: "node",
  format: "esm",
  target: "node24",
  sourcemap: false,
  legalComments: "none",
  logLevel: "warning",
  plugins: [moduleUrls],
  // ssh2 (through dockerode) loads optional native crypto addons inside try/catch and falls back to JS without them.
  external: ["cpu-features", "*.node"],
  // CommonJS dependencies bundled into an ES module still call require() and read __dirname.
  banner: {
    js: [
      'import { createRequire as __devhatcheryCreateRequire } from "node:module";',
      'import { fileURLToPath as __devhatcheryFileURLToPath } from "node:url";',
      "const require = __devhatcheryCreateRequire(import.meta.url);",
      "const __filename = __devhatcheryFileURLToPath(import.meta.url);",
      'const __dirname = __devhatcheryFileURLToPath(new URL(".", import.meta.url));',
    ].join("\n"),
  },
});

await copyFile(new URL("control-plane/package.json", repo), new URL("control-plane/package.json", app));
for (const name of agentFiles) await copyFile(new URL(name, agentDist), new URL(`runner-agent/dist/${name}`, app));
for (const image of ["agent", "runner"])
  await copyFile(new URL(`images/${image}/Dockerfile`, repo), new URL(`images/${image}/Dockerfile`, app));
