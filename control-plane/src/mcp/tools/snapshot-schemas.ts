import { z } from "zod";
import { RUNNER_NAME_PATTERN, type SnapshotInfo } from "../../runners/runner.js";

/** The `snapshot` argument (snapshot_remove, runner_spawn): a snapshot id or name. */
export const snapshotRefArg = z
  .string()
  .min(1)
  .max(63)
  .describe(
    'One of your snapshots: its snapshot_id (e.g. "s-0123456789ab") or the name you gave it (see snapshot_list).',
  );

/** snapshot_create's optional name. */
export const snapshotNameArg = z
  .string()
  .regex(
    RUNNER_NAME_PATTERN,
    'name must be letters, digits, ".", "_" and "-", starting with a letter or digit, at most 63 characters',
  )
  .describe(
    'A name of your choice for the snapshot, unique among your snapshots, e.g. "node-toolchain"; usable as `snapshot` in runner_spawn and snapshot_remove. Not shaped like a snapshot id ("s-" and 12 hex digits).',
  );

/** A snapshot as the snapshot_* tools show it. */
export const snapshotOutputSchema = z.object({
  snapshot_id: z
    .string()
    .describe('The snapshot\'s id, e.g. "s-0123456789ab"; pass it (or its name) as `snapshot` to runner_spawn.'),
  name: z.string().optional().describe("Your name for it, when you gave one."),
  image: z.string().describe("The local image reference runners spawned from it run (and show as their image)."),
  source_runner: z.string().describe("The runner it was taken from."),
  source_image: z.string().describe("The image that runner ran."),
  created_at: z.string().describe("When it was taken, ISO 8601."),
  size_bytes: z
    .number()
    .int()
    .describe("Disk space of the image in bytes, including the base image layers it shares with its source image."),
});

export type SnapshotOutput = z.infer<typeof snapshotOutputSchema>;

export function toSnapshotOutput(snapshot: SnapshotInfo): SnapshotOutput {
  return {
    snapshot_id: snapshot.snapshotId,
    ...(snapshot.name === undefined ? {} : { name: snapshot.name }),
    image: snapshot.image,
    source_runner: snapshot.sourceRunner,
    source_image: snapshot.sourceImage,
    created_at: snapshot.createdAt,
    size_bytes: snapshot.sizeBytes,
  };
}

/** One line about a snapshot for a tool's text rendering. */
export function describeSnapshot(snapshot: SnapshotInfo): string {
  return `${snapshot.snapshotId}${snapshot.name ? ` "${snapshot.name}"` : ""} (from runner ${snapshot.sourceRunner}, image ${snapshot.sourceImage}, ${snapshot.sizeBytes} bytes)`;
}
