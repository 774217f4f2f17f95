// Lint rules carry the architecture (STYLE.md): layering by import zones, one-owner imports for
// Docker, gRPC types, Hono and the MCP SDK, kebab-case names, and no console in shipped code.
import checkFile from "eslint-plugin-check-file";
import { createTypeScriptImportResolver } from "eslint-import-resolver-typescript";
import importX from "eslint-plugin-import-x";
import globals from "globals";
import tseslint from "typescript-eslint";

const cp = "./control-plane/src";

/** These control-plane folders, by name. */
const under = (...names) => names.map((name) => `${cp}/${name}`);

/** Files in `target` may not import anything in `from`; the message names the fix. */
const zone = (target, from, message) => ({ target, from, message });

/** The layers of STYLE.md as import zones. */
const layerZones = [
  zone(
    `${cp}/runtime`,
    [`${cp}/http`, `${cp}/mcp`, `${cp}/runners`, `${cp}/agent-client`, `${cp}/auth`],
    "runtime/ is the bottom layer: it knows only Docker.",
  ),
  zone(
    `${cp}/agent-client`,
    [`${cp}/http`, `${cp}/mcp`, `${cp}/runners`, `${cp}/runtime`],
    "agent-client/ is a bottom layer: it knows only the agent contract.",
  ),
  zone(
    `${cp}/store`,
    [`${cp}/http`, `${cp}/mcp`, `${cp}/runners`, `${cp}/runtime`, `${cp}/agent-client`, `${cp}/auth`],
    "store/ is a bottom layer: it knows only SQLite and its own records; take principals as id strings and let callers map to and from domain types.",
  ),
  zone(
    `${cp}/runtime`,
    [`${cp}/store`],
    "runtime/ knows only Docker; keep state in runners/ and hand it what it needs.",
  ),
  zone(
    `${cp}/agent-client`,
    [`${cp}/store`],
    "agent-client/ knows only the agent contract; keep state in runners/ and hand it what it needs.",
  ),
  zone(
    `${cp}/runners`,
    [`${cp}/http`, `${cp}/mcp`],
    "runners/ is the domain: no HTTP or MCP; return domain values and let mcp/ present them.",
  ),
  zone(
    `${cp}/mcp`,
    [`${cp}/http`, `${cp}/runtime`, `${cp}/agent-client`],
    "mcp/ talks to the domain in runners/, never to Docker or the agent directly.",
  ),
  zone(
    `${cp}/http`,
    [`${cp}/runtime`, `${cp}/agent-client`, `${cp}/runners`],
    "http/ hands requests to mcp/; it does not reach below it.",
  ),
  // The domain's capability groups (runners/<group>/): leaves know no sibling group; spawn/ knows nothing of what
  // is done with a runner afterwards. Shared code goes to the leaf it belongs to (mounts/ holds host paths).
  ...["exec", "files", "mounts"].map((leaf) =>
    zone(
      `${cp}/runners/${leaf}`,
      ["spawn", "exec", "files", "mounts", "exports", "snapshots", "workspaces"]
        .filter((group) => group !== leaf)
        .map((group) => `${cp}/runners/${group}`),
      `runners/${leaf}/ is a leaf capability: it uses the runners root and lower layers only; move what a sibling needs into the leaf it belongs to.`,
    ),
  ),
  zone(
    `${cp}/runners/spawn`,
    [`${cp}/runners/exports`, `${cp}/runners/snapshots`, `${cp}/runners/workspaces`],
    "runners/spawn/ creates runners and knows nothing of exports, snapshots or workspaces; the runners root composes them.",
  ),
  zone(
    `${cp}/config`,
    under("http", "mcp", "runners", "runtime", "agent-client", "store", "auth", "cli", "observability"),
    "config/ parses and checks the configuration and knows no layer that uses it; those receive its values.",
  ),
  zone(
    `${cp}/cli`,
    [`${cp}/http`, `${cp}/mcp`, `${cp}/agent-client`, `${cp}/store`],
    "cli/ checks configuration and the engine (config/, runtime/, runners/); serving MCP belongs to the composition root, the agent to runners/.",
  ),
  zone(
    under("http", "mcp", "runners", "runtime", "agent-client", "store", "auth", "config", "observability"),
    `${cp}/cli`,
    "cli/ sits on top: only main.ts runs it; move what two commands share into the layer it belongs to.",
  ),
  zone(
    [`${cp}/mcp`, `${cp}/runners`, `${cp}/runtime`, `${cp}/agent-client`, `${cp}/auth`, `${cp}/store`],
    `${cp}/observability`,
    "observability/ is wired by the composition root and http/; report through audit.ts (AuditLog), meter.ts (Meter) and request-context.ts.",
  ),
];

/** Shipped mcp/ code reaches state through the domain; its tests may build a real store to pass in, as the composition root does. */
const mcpThroughDomain = zone(
  `${cp}/mcp`,
  [`${cp}/store`],
  "mcp/ reaches state through the domain in runners/ (e.g. runners/task-ledger.ts); the composition root passes the store.",
);

const onlyIn = (pkg, owner) => ({
  group: [pkg, `${pkg}/*`],
  message: `Only ${owner} may import ${pkg}; go through it instead.`,
});

/**
 * In the control plane each outside library or contract has one owner folder; everyone else goes through it.
 * One flat-config block per owner keeps every other restriction in force there (later blocks replace rules).
 */
function controlPlaneImportOwners() {
  const owners = [
    { files: ["control-plane/src/runtime/docker-*.ts"], pattern: onlyIn("dockerode", "runtime/docker-*.ts") },
    {
      files: ["control-plane/src/agent-client/**"],
      pattern: {
        group: ["@devhatchery/proto/agent/*", "@devhatchery/proto/health/*", "@grpc/grpc-js"],
        message: "Only agent-client/ speaks gRPC to the agent; use AgentClient.",
      },
    },
    {
      files: ["control-plane/src/http/**", "control-plane/src/control-plane.ts", "control-plane/src/main.ts"],
      pattern: onlyIn("hono", "http/ (and the composition root)"),
    },
    {
      files: ["control-plane/src/http/**", "control-plane/src/main.ts"],
      pattern: onlyIn("@hono/node-server", "http/ and main.ts"),
    },
    {
      files: ["control-plane/src/mcp/**", "control-plane/src/http/**"],
      pattern: onlyIn("@modelcontextprotocol/sdk", "mcp/ and http/"),
    },
    {
      files: ["control-plane/src/observability/**"],
      pattern: {
        group: ["prom-client", "@opentelemetry/sdk-*", "@opentelemetry/exporter-*", "@opentelemetry/resources"],
        message:
          "Only observability/ sets up metrics and tracing; count through meter.ts, audit through audit.ts, start spans with @opentelemetry/api.",
      },
    },
    {
      files: [],
      pattern: {
        group: ["@devhatchery/runner-agent", "@devhatchery/runner-agent/*"],
        message: "The control plane uses the agent only through proto/ and agent-client/.",
      },
    },
  ];
  const rule = (except) => [
    "error",
    { patterns: owners.filter((owner) => !except.includes(owner)).map((owner) => owner.pattern) },
  ];
  const blocks = [
    { files: ["control-plane/src/**/*.ts"], ignores: ["**/*.test.ts"], rules: { "no-restricted-imports": rule([]) } },
  ];
  for (const file of new Set(owners.flatMap((owner) => owner.files))) {
    const except = owners.filter((owner) => owner.files.includes(file));
    blocks.push({ files: [file], ignores: ["**/*.test.ts"], rules: { "no-restricted-imports": rule(except) } });
  }
  return blocks;
}

const agentFromControlPlane = zone(
  "./runner-agent",
  ["./control-plane"],
  "The agent and the control plane share only proto/.",
);
/** The control plane uses the agent only through proto/ and agent-client/ (whose tests may start a real agent). */
const controlPlaneFromAgent = zone(
  "./control-plane",
  ["./runner-agent"],
  "The agent and the control plane share only proto/.",
);

export default tseslint.config(
  { ignores: ["**/dist/**", "**/node_modules/**", "proto/gen/**", "coverage/**"] },
  ...tseslint.configs.recommended,
  {
    files: ["**/*.{ts,js,mjs}"],
    languageOptions: { globals: { ...globals.node } },
    plugins: { "import-x": importX, "check-file": checkFile },
    settings: { "import-x/resolver-next": [createTypeScriptImportResolver()] },
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      "@typescript-eslint/consistent-type-imports": ["error", { fixStyle: "inline-type-imports" }],
      "check-file/filename-naming-convention": [
        "error",
        { "**/*.{ts,js,mjs}": "KEBAB_CASE" },
        { ignoreMiddleExtensions: true },
      ],
      "check-file/filename-blocklist": [
        "error",
        {
          "**/utils.ts": "*-name-the-thing.ts",
          "**/helpers.ts": "*-name-the-thing.ts",
          "**/common.ts": "*-name-the-thing.ts",
        },
      ],
      "import-x/no-restricted-paths": [
        "error",
        { zones: [...layerZones, mcpThroughDomain, agentFromControlPlane, controlPlaneFromAgent] },
      ],
    },
  },
  {
    files: ["runner-agent/src/**/*.ts", "control-plane/src/**/*.ts"],
    ignores: ["**/*.test.ts"],
    rules: { "no-console": ["error"] },
  },
  {
    files: ["runner-agent/src/**/*.ts"],
    ignores: ["runner-agent/src/**/*-service.ts", "runner-agent/src/server.ts", "**/*.test.ts"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            {
              group: ["@devhatchery/proto/agent/*", "@devhatchery/proto/health/*"],
              message: "Only *-service.ts (gRPC adapters) and server.ts touch proto types; managers use plain types.",
            },
          ],
        },
      ],
    },
  },
  {
    files: ["control-plane/src/mcp/**/*.test.ts"],
    rules: {
      "import-x/no-restricted-paths": [
        "error",
        { zones: [...layerZones, agentFromControlPlane, controlPlaneFromAgent] },
      ],
    },
  },
  ...controlPlaneImportOwners(),
  {
    // Tests too reach Docker and the agent through their owners (they may read proto/ for expected values).
    files: ["control-plane/src/**/*.test.ts"],
    ignores: ["control-plane/src/runtime/**", "control-plane/src/agent-client/**"],
    rules: {
      "no-restricted-imports": [
        "error",
        {
          patterns: [
            onlyIn("dockerode", "runtime/ (and its tests)"),
            onlyIn("@grpc/grpc-js", "agent-client/ (and its tests)"),
          ],
        },
      ],
    },
  },
  {
    // The agent client's own tests drive it against the real agent server in-process (STYLE.md: a real gRPC server
    // on port 0); shipped code and every other test still reach the agent only through proto/.
    files: ["control-plane/src/agent-client/**/*.test.ts"],
    rules: { "import-x/no-restricted-paths": ["error", { zones: [...layerZones, agentFromControlPlane] }] },
  },
);
