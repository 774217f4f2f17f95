import { z } from "zod";
import { RUNNER_NAME_PATTERN, type SpawnRequest } from "../../runners/runner.js";

const NAME_RULE =
  'letters, digits, ".", "_" and "-", starting with a letter or digit, at most 63 characters, and not shaped like a runner id ("r-" and 12 hex digits)';

/** A workspace key argument (runner_spawn, volume_remove). */
export const workspaceKeyArg = z.string().regex(RUNNER_NAME_PATTERN, `workspace_key must be ${NAME_RULE}`);

/** runner_spawn's inputs: every one optional, falling back to the operator's defaults. */
export const runnerSpawnInputShape = {
  image: z
    .string()
    .min(1)
    .max(255)
    .optional()
    .describe(
      'Container image to run, e.g. "ubuntu:24.04" or "python:3.12" (any glibc-based Linux image: the agent is added when the image lacks it), named by repository and tag or digest (image ids are refused unless the server allows them). Omit to use the server\'s default image.',
    ),
  snapshot: z
    .string()
    .min(1)
    .max(63)
    .optional()
    .describe(
      'One of your snapshots to start from instead of an image: its snapshot_id (e.g. "s-0123456789ab") or name (snapshot_list). The runner has everything the snapshot holds outside /work; /work is its own workspace as usual. Not together with image.',
    ),
  workspace_key: workspaceKeyArg
    .optional()
    .describe(
      `Your named, persistent workspace to mount at /work, e.g. "my-project": created when new, reused (with its files) when it exists. Come back to it later with runner_attach. Omit for a new workspace keyed by the runner id. ${NAME_RULE}.`,
    ),
  storage: z
    .enum(["volume", "tmpfs"])
    .optional()
    .describe(
      '"volume" (default): /work is a workspace volume that survives runner_remove. "tmpfs": /work lives in memory (counted against memory_mb, so at most memory_mb minus 96 MiB kept for the agent) and is gone when the runner is removed or stopped; no workspace_key then.',
    ),
  alias: z
    .string()
    .regex(RUNNER_NAME_PATTERN, `alias must be ${NAME_RULE}`)
    .optional()
    .describe(
      `A short name of your choice for the runner, unique among your runners, e.g. "build"; usable as \`runner\` in every tool. ${NAME_RULE}.`,
    ),
  cpus: z
    .number()
    .positive()
    .optional()
    .describe(
      "CPU cores the runner may use, e.g. 2 or 0.5. Omit for the operator's default; more than the operator's maximum is refused.",
    ),
  memory_mb: z
    .number()
    .int()
    .positive()
    .optional()
    .describe(
      "Memory limit in MiB, e.g. 2048 (no swap: a process going over it is OOM-killed). Omit for the operator's default.",
    ),
  network: z
    .boolean()
    .optional()
    .describe(
      "Outbound network access (package installs, git clone). Default true; false cuts the runner off from everything but the control plane.",
    ),
  env: z
    .record(z.string(), z.string())
    .optional()
    .describe(
      'Environment variables for every process in the runner, e.g. {"CI": "1", "LANG": "C.UTF-8"}. Names are letters, digits and "_" and may not start with DEVHATCHERY_.',
    ),
  profile: z
    .enum(["default", "hardened"])
    .optional()
    .describe(
      '"default": root inside the container (installing packages works). "hardened": a non-root user and a read-only root filesystem; only /work, /tmp and /var/tmp are writable. The operator may require "hardened".',
    ),
  mounts: z
    .array(
      z.object({
        alias: z
          .string()
          .min(1)
          .max(32)
          .describe(
            'An allowed root of this server, by alias, e.g. "data" (the operator lists them; an unknown alias is refused with the list).',
          ),
        subpath: z
          .string()
          .max(1024)
          .optional()
          .describe(
            'A folder inside the alias root to mount instead of the whole root, relative to it, e.g. "reports/2024"; no "..".',
          ),
        target: z
          .string()
          .max(1024)
          .optional()
          .describe('Where it appears in the runner, under /export; default "/export/<alias>".'),
        mode: z
          .enum(["ro", "rw"])
          .default("ro")
          .describe(
            '"ro" (default) or "rw" (only where the alias allows it); export_create can write into "rw" mounts.',
          ),
      }),
    )
    .max(16)
    .default([])
    .describe(
      "Host folders to mount in the runner, by allowed-root alias; read-only unless you ask for rw and the alias allows it.",
    ),
  idempotency_key: z
    .string()
    .min(1)
    .max(128)
    .optional()
    .describe(
      'Makes a retried call safe, e.g. "spawn-build-2024-06-01": the same key with the same arguments within 24 h returns the same runner instead of a second one; the same key with other arguments is refused.',
    ),
  wait: z
    .boolean()
    .default(true)
    .describe(
      'true (default): return once the runner is ready. false: return at once with status "starting"; you hear when it is ready (or failed) through a log message and notifications/resources/updated on devhatchery://runners/{runner_id}, and can read that resource or call runner_list.',
    ),
};

/** runner_spawn's input schema, built once for every session. */
export const runnerSpawnInputSchema = z.object(runnerSpawnInputShape);

type SpawnArgs = z.infer<typeof runnerSpawnInputSchema>;

/** The domain request for runner_spawn's arguments. */
export function toSpawnRequest(args: SpawnArgs): SpawnRequest {
  return {
    image: args.image,
    snapshot: args.snapshot,
    workspaceKey: args.workspace_key,
    storage: args.storage,
    alias: args.alias,
    cpus: args.cpus,
    memoryMb: args.memory_mb,
    network: args.network,
    env: args.env,
    profile: args.profile,
    mounts: args.mounts,
    idempotencyKey: args.idempotency_key,
  };
}

export type { SpawnArgs };
