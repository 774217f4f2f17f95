import type { PullProgress } from "./runner-images.js";

/** One line of the engine's pull stream. */
export interface PullEvent {
  status?: string;
  id?: string;
  progressDetail?: { current?: number; total?: number };
  error?: string;
  errorDetail?: { message?: string };
}

const LAYER_DONE = new Set(["Download complete", "Pull complete", "Already exists"]);
/** A layer is local once it was extracted, or was there before. */
const LAYER_LOCAL = new Set(["Pull complete", "Already exists"]);
/** Layer lines carry the layer's short id; the first line's id is the tag being pulled. */
const LAYER_ID = /^[0-9a-f]{12}$/;

/**
 * Aggregates per-layer byte counts of a pull into one fraction (the sum of downloaded over the sum of known sizes),
 * the bytes behind it, and how many of the image's layers are local.
 */
export class PullProgressTracker {
  private readonly layers = new Map<string, { current: number; total: number }>();
  private readonly seen = new Set<string>();
  private readonly local = new Set<string>();

  update(event: PullEvent): PullProgress {
    const { id, status = "pulling" } = event;
    const { current, total } = event.progressDetail ?? {};
    if (id && LAYER_ID.test(id)) {
      this.seen.add(id);
      if (LAYER_LOCAL.has(status)) this.local.add(id);
    }
    if (id && status === "Downloading" && total && total > 0) {
      this.layers.set(id, { current: Math.min(current ?? 0, total), total });
    } else if (id && LAYER_DONE.has(status)) {
      const layer = this.layers.get(id);
      if (layer) layer.current = layer.total;
    }
    const bytes = this.bytes();
    return {
      status,
      fraction: bytes.total > 0 ? bytes.current / bytes.total : undefined,
      ...(bytes.total > 0 ? { bytes } : {}),
      ...(this.seen.size > 0 ? { layers: { done: this.local.size, total: this.seen.size } } : {}),
    };
  }

  private bytes(): { current: number; total: number } {
    let current = 0;
    let total = 0;
    for (const layer of this.layers.values()) {
      current += layer.current;
      total += layer.total;
    }
    return { current, total };
  }
}

/** A pull's progress in words: "45% of 27.1 MB, 2 of 5 layers", or the engine's status before sizes are known. */
export function describePullProgress(progress: PullProgress): string {
  const parts: string[] = [];
  if (progress.fraction !== undefined && progress.bytes)
    parts.push(`${Math.floor(progress.fraction * 100)}% of ${(progress.bytes.total / 1_000_000).toFixed(1)} MB`);
  if (progress.layers) parts.push(`${progress.layers.done} of ${progress.layers.total} layers`);
  return parts.length > 0 ? parts.join(", ") : progress.status;
}
