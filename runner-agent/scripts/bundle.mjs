// Bundles the agent into one CommonJS file (dist/agent.cjs) that runs on the agent's own Node runtime.
// Usage: node scripts/bundle.mjs [output folder]   (default: dist; another folder serves to try a variant, see
// bench/agent-memory.ts)
import { copyFile, readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { build } from "esbuild";

const require = createRequire(import.meta.url);
const outDir = process.argv[2] ? resolve(process.argv[2]) : new URL("../dist", import.meta.url).pathname;

/**
 * @grpc/reflection reads its own .proto files from disk (relative to __dirname) when it registers; a
 * one-file bundle has no such files. Inline them as protobufjs JSON at bundle time instead, and fail the
 * build loudly if the library's code no longer has the shape we patch.
 */
const inlineReflectionProtos = {
  name: "inline-reflection-protos",
  setup(pluginBuild) {
    const protobuf = require("protobufjs");
    const reflectionRoot = dirname(require.resolve("@grpc/reflection/package.json"));
    pluginBuild.onLoad(
      { filter: /@grpc[\\/]reflection[\\/]build[\\/]src[\\/]implementations[\\/]reflection-v1(alpha)?\.js$/ },
      async (args) => {
        const source = await readFile(args.path, "utf8");
        const version = args.path.endsWith("reflection-v1alpha.js") ? "v1alpha" : "v1";
        const protoPath = join(reflectionRoot, "build", "proto", "grpc", "reflection", version, "reflection.proto");
        const json = JSON.stringify(protobuf.loadSync(protoPath).toJSON());
        const pattern = /protoLoader\.loadSync\(protoPath, (constants_1\.PROTO_LOADER_OPTS)\)/;
        if (!pattern.test(source))
          throw new Error(
            `inline-reflection-protos: ${args.path} changed shape; update runner-agent/scripts/bundle.mjs`,
          );
        return { contents: source.replace(pattern, `protoLoader.fromJSON(${json}, $1)`), loader: "js" };
      },
    );
  },
};

await build({
  entryPoints: [new URL("../src/main.ts", import.meta.url).pathname],
  outfile: join(outDir, "agent.cjs"),
  bundle: true,
  platform: "node",
  format: "cjs",
  target: "node24",
  // Whitespace and syntax minification lower the agent's idle RSS by about 4 MB (less source held, less to parse);
  // identifiers stay, so stack traces still name functions.
  minifyWhitespace: true,
  minifySyntax: true,
  sourcemap: false,
  legalComments: "none",
  plugins: [inlineReflectionProtos],
  logLevel: "warning",
  // The bundle is CommonJS, where import.meta is empty: give modules that locate files beside themselves the bundle's URL.
  banner: { js: 'const importMetaUrl = require("node:url").pathToFileURL(__filename).href;' },
  define: { "import.meta.url": "importMetaUrl" },
});

/**
 * The pty addon (node-pty's N-API binary, prebuilt per platform on npm) cannot be inlined: ship it beside agent.cjs
 * under the name the agent looks for (runner-agent/src/exec/pty-addon.ts). npm installs only this machine's
 * platform package, so the bundle carries the addon for the architecture it is built on.
 */
const ptyAddon = `node-pty-${process.platform}-${process.arch}.node`;
try {
  await copyFile(
    require.resolve(`@lydell/node-pty-${process.platform}-${process.arch}/pty.node`),
    join(outDir, ptyAddon),
  );
} catch (error) {
  if (process.platform === "linux")
    throw new Error(
      `bundle: the pty addon for linux-${process.arch} is missing (npm ci installs @lydell/node-pty-linux-${process.arch}): ${error.message}`,
    );
  console.warn(
    `bundle: no pty addon for ${process.platform}-${process.arch}; agents built here cannot run processes on a pty`,
  );
}
