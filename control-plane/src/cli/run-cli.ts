import { parseArgs } from "node:util";
import { VERSION } from "../version.js";
import type { CliContext } from "./cli-context.js";
import { configPathOf, loadCliConfig } from "./cli-config.js";
import { DEBUG_HELP, debugCommand } from "./debug-command.js";
import { EXIT } from "./exit-codes.js";
import { GC_HELP, gcCommand } from "./gc-command.js";
import { IMAGES_HELP, imagesCommand } from "./images-command.js";
import { INIT_HELP, initCommand } from "./init-command.js";
import { PLAN_HELP, planCommand } from "./plan-command.js";
import { VALIDATE_HELP, validateCommand } from "./validate-command.js";

const SERVE_HELP = `Usage: devhatchery serve [--config PATH]

Runs the control plane: MCP over Streamable HTTP at http://<listen.host>:<listen.port>/mcp. Without a config file it
listens on 127.0.0.1:8080 with auth "none". SIGTERM or SIGINT stop it gracefully: no new requests, open streams get
shutdown.grace_ms to finish, runners keep running; then it exits 0.

Options:
  --config PATH   the config file (default: DEVHATCHERY_CONFIG, else the embedded defaults)
  --help          show this help

Exit codes: 0 stopped by a signal, 1 invalid configuration or the address cannot be bound.
`;

const HELP = `Usage: devhatchery <command> [options]     (no command: serve)

Commands:
  serve           run the control plane (the default)
  init [path]     write a commented devhatchery.yaml
  validate        check the configuration, the host paths it names and Docker; list every problem with a fix
  plan            show what serve would create (networks, agent volume, prepulls, state), creating nothing
  gc              delete expired runners, workspaces, snapshots and exports and leftovers (--dry-run lists them)
  debug <runner>  print the agent's debug view of a runner through a running control plane
  images build    build the runner image with the agent baked in

Configuration: devhatchery.yaml (--config PATH or DEVHATCHERY_CONFIG; optional), then DEVHATCHERY_* variables.
Reference: docs/configuration.md. Run \`devhatchery <command> --help\` for a command's options.

Options: --help, --version
Exit codes: 0 ok, 1 invalid configuration or usage, 2 Docker unreachable, 3 control plane request failed, 4 image build failed.
`;

function serveCommand(args: string[], context: CliContext): number | undefined {
  const { values } = parseArgs({ args, options: { config: { type: "string" } }, strict: true });
  const config = loadCliConfig(context, configPathOf(values.config, context.env));
  if (!config) return EXIT.invalid;
  context.serve(config);
  return undefined;
}

type Command = (args: string[], context: CliContext) => number | undefined | Promise<number>;

const COMMANDS: Record<string, { run: Command; help: string }> = {
  serve: { run: serveCommand, help: SERVE_HELP },
  init: { run: initCommand, help: INIT_HELP },
  validate: { run: validateCommand, help: VALIDATE_HELP },
  plan: { run: planCommand, help: PLAN_HELP },
  gc: { run: gcCommand, help: GC_HELP },
  debug: { run: debugCommand, help: DEBUG_HELP },
  images: { run: imagesCommand, help: IMAGES_HELP },
};

/**
 * Runs `devhatchery <args>`: the exit code, or undefined while serve keeps running. Without a command it serves,
 * so `node control-plane/dist/main.js` is the server as before.
 */
export async function runCli(args: string[], context: CliContext): Promise<number | undefined> {
  const [first, ...rest] = args;
  if (first === "--version" || first === "-v") {
    context.out(`devhatchery ${VERSION}\n`);
    return EXIT.ok;
  }
  if (first === "--help" || first === "-h" || first === "help") {
    context.out(HELP);
    return EXIT.ok;
  }
  const named = first !== undefined && !first.startsWith("-");
  const name = named ? first : "serve";
  const command = COMMANDS[name];
  if (!command) {
    context.err(
      `devhatchery: unknown command "${name}"; the commands are ${Object.keys(COMMANDS).join(", ")} (run \`devhatchery --help\`).\n`,
    );
    return EXIT.invalid;
  }
  const commandArgs = named ? rest : args;
  if (commandArgs.includes("--help") || commandArgs.includes("-h")) {
    context.out(command.help);
    return EXIT.ok;
  }
  try {
    return await command.run(commandArgs, context);
  } catch (error) {
    // parseArgs rejects unknown options and missing values with a TypeError whose code starts with ERR_PARSE_ARGS.
    if (!String((error as NodeJS.ErrnoException).code).startsWith("ERR_PARSE_ARGS")) throw error;
    context.err(`devhatchery ${name}: ${(error as Error).message}; run \`devhatchery ${name} --help\`.\n`);
    return EXIT.invalid;
  }
}
