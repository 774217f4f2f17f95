// Bundles the agent into one CommonJS file (dist/agent.cjs) that runs on the agent's own Node runtime.
import { readFile } from "node:fs/promises";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { build } from "esbuild";

const require = createRequire(import.meta.url);

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
    pluginBuild.onLoad({ filter: /@grpc[\\/]reflection[\\/]build[\\/]src[\\/]implementations[\\/]reflection-v1(alpha)?\.js$/ }, async (args) => {
      const source = await readFile(args.path, "utf8");
      const version = args.path.endsWith("reflection-v1alpha.js") ? "v1alpha" : "v1";
      const protoPath = join(reflectionRoot, "build", "proto", "grpc", "reflection", version, "reflection.proto");
      const json = JSON.stringify(protobuf.loadSync(protoPath).toJSON());
      const pattern = /protoLoader\.loadSync\(protoPath, (constants_1\.PROTO_LOADER_OPTS)\)/;
      if (!pattern.test(source)) throw new Error(`inline-reflection-protos: ${args.path} changed shape; update runner-agent/scripts/bundle.mjs`);
      return { contents: source.replace(pattern, `protoLoader.fromJSON(${json}, $1)`), loader: "js" };
    });
  },
};

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
  plugins: [inlineReflectionProtos],
  logLevel: "warning",
});
