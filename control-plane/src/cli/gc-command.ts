import { parseArgs } from "node:util";
import { asControlPlaneError } from "../errors.js";
import { createLogger } from "../log.js";
import { createAuditLog } from "../observability/audit-log.js";
import { describeGarbage, type GarbageItem } from "../runners/lifecycle/garbage-plan.js";
import type { CliContext } from "./cli-context.js";
import { configPathOf, describeSource, loadCliConfig } from "./cli-config.js";
import { EXIT } from "./exit-codes.js";
import { openOfflineGarbageCollector } from "../offline-garbage.js";

export const GC_HELP = `Usage: devhatchery gc [--dry-run] [--json] [--config PATH]

Deletes what lifecycle.* says has expired: runners past runner_max_lifetime_s, workspaces unused for
workspace_retention_s (never one a runner mounts, even a stopped one), snapshots older than snapshot_retention_s
(never one a runner was spawned from), exports in the export root older than export_retention_s; and what is left
over: agent volumes of other agent versions no container mounts, helper containers left by a crash, and with
gc_images the images pulled for runners that no container uses. Every deletion is written to the audit log.

A running control plane does this itself every lifecycle.gc_interval_s; \`gc\` without --dry-run is for when it is
stopped (it is refused while one holds the state folder).

Options:
  --dry-run       list what would be deleted now and what becomes due within retention_warning_s; delete nothing
  --json          print JSON: {"due": [...], "soon": [...], "deleted": [...], "failed": [...]}
  --config PATH   the config file (default: DEVHATCHERY_CONFIG, else the embedded defaults)
  --help          show this help

Exit codes: 0 done (or nothing to do), 1 invalid configuration, a control plane holds the state folder, or a deletion
failed, 2 Docker unreachable.
`;

function toJson(item: GarbageItem): Record<string, unknown> {
  return {
    kind: item.kind,
    id: item.id,
    ...(item.principal ? { principal: item.principal } : {}),
    reason: item.reason,
    due_at: item.dueAt,
    ...(item.bytes !== undefined ? { bytes: item.bytes } : {}),
  };
}

function lines(title: string, items: GarbageItem[]): string {
  if (items.length === 0) return "";
  return `${title}:\n${items.map((item) => `  ${describeGarbage(item)}\n`).join("")}`;
}

export async function gcCommand(args: string[], context: CliContext): Promise<number> {
  const { values } = parseArgs({
    args,
    options: { config: { type: "string" }, "dry-run": { type: "boolean" }, json: { type: "boolean" } },
    strict: true,
  });
  const path = configPathOf(values.config, context.env);
  const config = loadCliConfig(context, path);
  if (!config) return EXIT.invalid;
  const dryRun = values["dry-run"] === true;
  const audit = dryRun ? undefined : createAuditLog(config.auditLog);
  let opened: ReturnType<typeof openOfflineGarbageCollector>;
  try {
    opened = openOfflineGarbageCollector(config, createLogger("silent"), { audit, lock: !dryRun });
  } catch (error) {
    audit?.close();
    context.err(
      `devhatchery gc: ${asControlPlaneError(error).message} A running control plane collects garbage itself every ${config.lifecycle.gcIntervalS} s (lifecycle.gc_interval_s); \`devhatchery gc --dry-run\` shows what it will delete.\n`,
    );
    return EXIT.invalid;
  }
  const { collector, runtime, close } = opened;
  try {
    try {
      await runtime.engine.ping();
    } catch (error) {
      context.err(
        `devhatchery gc: the Docker engine at "${config.dockerHost ?? "Docker's default endpoint"}" does not answer: ${asControlPlaneError(error).message}\n`,
      );
      return EXIT.dockerUnreachable;
    }
    if (dryRun) {
      const plan = await collector.plan();
      if (values.json) {
        context.out(`${JSON.stringify({ due: plan.due.map(toJson), soon: plan.soon.map(toJson) }, null, 2)}\n`);
      } else {
        context.out(
          `Garbage for ${describeSource(path, context.env)} (dry run: nothing is deleted):\n` +
            (lines("would delete now", plan.due) || "  nothing is due now\n") +
            lines(`due within ${config.lifecycle.retentionWarningS} s (owners are warned)`, plan.soon),
        );
      }
      return EXIT.ok;
    }
    const report = await collector.collect();
    if (values.json) {
      context.out(
        `${JSON.stringify(
          {
            due: report.plan.due.map(toJson),
            soon: report.plan.soon.map(toJson),
            deleted: report.deleted.map(toJson),
            failed: report.failed.map(({ item, error }) => ({ ...toJson(item), error })),
          },
          null,
          2,
        )}\n`,
      );
    } else {
      context.out(
        (lines("deleted", report.deleted) || "nothing was due\n") +
          (report.failed.length
            ? `could not delete:\n${report.failed.map(({ item, error }) => `  ${describeGarbage(item)}: ${error}\n`).join("")}`
            : ""),
      );
    }
    return report.failed.length > 0 ? EXIT.invalid : EXIT.ok;
  } catch (error) {
    context.err(`devhatchery gc: ${asControlPlaneError(error).message}\n`);
    return EXIT.invalid;
  } finally {
    close();
    audit?.close();
  }
}
