import { parseArgs } from "node:util";
import type { CliContext } from "./cli-context.js";
import { baseUrlOf, configPathOf, loadCliConfig } from "./cli-config.js";
import { EXIT } from "./exit-codes.js";

export const DEBUG_HELP = `Usage: devhatchery debug <runner> [--url URL] [--token TOKEN] [--html] [--config PATH]

Prints what the agent in a runner is doing (processes, watches, streams, memory, CPU, version), as the running
control plane's GET /runners/<runner>/debug shows it to the runner's owner.

Options:
  --url URL       the control plane (default: its listen address from the configuration, e.g. http://127.0.0.1:8080)
  --token TOKEN   bearer token of the runner's owner (default: DEVHATCHERY_TOKEN; none with auth "none")
  --html          print the HTML page instead of JSON
  --config PATH   the config file used to find the listen address
  --help          show this help

Exit codes: 0 done, 1 usage or invalid configuration, 3 the control plane could not be reached or refused.
`;

/** The control plane's base URL from --url (its /mcp URL works too) or the configured listen address. */
function baseUrl(
  option: string | undefined,
  context: CliContext,
  configOption: string | undefined,
): string | undefined {
  if (option) return option.replace(/\/+$/, "").replace(/\/mcp$/, "");
  const config = loadCliConfig(context, configPathOf(configOption, context.env));
  return config && baseUrlOf(config);
}

export async function debugCommand(args: string[], context: CliContext): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    options: {
      url: { type: "string" },
      token: { type: "string" },
      html: { type: "boolean" },
      config: { type: "string" },
    },
    allowPositionals: true,
    strict: true,
  });
  if (positionals.length !== 1) {
    context.err(
      "devhatchery debug: expected one runner (id, alias or workspace key); run `devhatchery debug --help`.\n",
    );
    return EXIT.invalid;
  }
  const base = baseUrl(values.url, context, values.config);
  if (!base) return EXIT.invalid;
  const url = `${base}/runners/${encodeURIComponent(positionals[0]!)}/debug`;
  const token = values.token ?? context.env.DEVHATCHERY_TOKEN;
  let response: Response;
  try {
    response = await fetch(url, {
      headers: {
        accept: values.html ? "text/html" : "application/json",
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      signal: AbortSignal.timeout(30_000),
    });
  } catch (error) {
    const cause = (error as { cause?: { code?: string } }).cause?.code ?? (error as Error).name;
    context.err(
      `devhatchery debug: cannot reach the control plane at "${base}" (${cause}); start it with \`devhatchery serve\` or pass --url.\n`,
    );
    return EXIT.requestFailed;
  }
  const body = await response.text();
  if (response.ok) {
    context.out(values.html ? body : `${JSON.stringify(JSON.parse(body), null, 2)}\n`);
    return EXIT.ok;
  }
  const fix =
    response.status === 401
      ? "pass the owner's token with --token or DEVHATCHERY_TOKEN"
      : response.status === 404
        ? "list your runners with runner_list"
        : "see the control plane's log";
  let message = body;
  try {
    message = (JSON.parse(body) as { message?: string }).message ?? body;
  } catch {
    // Not JSON: show the body as it is.
  }
  context.err(`devhatchery debug: ${url} answered ${response.status}: ${message.trim()} (${fix})\n`);
  return EXIT.requestFailed;
}
