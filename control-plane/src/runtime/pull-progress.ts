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

/** Aggregates per-layer byte counts of a pull into one fraction: the sum of downloaded over the sum of known sizes. */
export class PullProgressTracker {
  private readonly layers = new Map<string, { current: number; total: number }>();

  update(event: PullEvent): PullProgress {
    const { id, status = "pulling" } = event;
    const { current, total } = event.progressDetail ?? {};
    if (id && status === "Downloading" && total && total > 0) {
      this.layers.set(id, { current: Math.min(current ?? 0, total), total });
    } else if (id && LAYER_DONE.has(status)) {
      const layer = this.layers.get(id);
      if (layer) layer.current = layer.total;
    }
    return { status, fraction: this.fraction() };
  }

  private fraction(): number | undefined {
    let current = 0;
    let total = 0;
    for (const layer of this.layers.values()) {
      current += layer.current;
      total += layer.total;
    }
    return total > 0 ? current / total : undefined;
  }
}
