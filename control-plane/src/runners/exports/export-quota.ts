import { KeyedLock } from "../keyed-lock.js";
import { checkDiskQuota, type EffectiveQuotas } from "../quotas.js";
import { exportBytesOf } from "./export-usage.js";

/** One export into the export root, counted against the export_mb quota while it is written. */
export interface ExportAllowance {
  /** Throws QUOTA_EXCEEDED once the `bytes` this export has written take its principal past the quota. */
  written(bytes: number): void;
  /** Runs `place` (the export lands with its manifest, `bytes` in all) so no other export of the principal misses it. */
  land<T>(bytes: number, place: () => Promise<T>): Promise<T>;
  /** Stops counting this export (landed or failed); calling it again does nothing. */
  release(): void;
}

/** An export being written: the bytes landed when it started and since, and what it has written itself. */
interface Running {
  landed: number;
  written: number;
}

/**
 * The export_mb quota across a principal's concurrent exports. Each export starts from the bytes of the principal's
 * manifests and also counts what its other exports have written so far and what lands meanwhile, so two exports can
 * never both fill the same room. Reading the manifests and landing an export take the principal's lock, so each
 * landed export is counted exactly once.
 */
export class ExportQuota {
  private readonly locks = new KeyedLock();
  private readonly running = new Map<string, Set<Running>>();

  constructor(private readonly root: string) {}

  /** Refuses the export when the principal is at or over its quota; undefined when it has no export_mb quota. */
  async begin(principal: string, quotas: EffectiveQuotas): Promise<ExportAllowance | undefined> {
    if (quotas.limits.exportMb === undefined) return undefined;
    return this.locks.run(principal, async () => {
      const landed = await exportBytesOf(this.root, principal);
      const running = this.running.get(principal) ?? new Set<Running>();
      checkDiskQuota(quotas, "exportMb", landed + writtenBy(running, undefined));
      const own: Running = { landed, written: 0 };
      running.add(own);
      this.running.set(principal, running);
      return this.allowance(principal, quotas, running, own);
    });
  }

  private allowance(principal: string, quotas: EffectiveQuotas, running: Set<Running>, own: Running): ExportAllowance {
    const release = (): void => {
      running.delete(own);
      if (running.size === 0 && this.running.get(principal) === running) this.running.delete(principal);
    };
    return {
      written: (bytes) => {
        own.written = bytes;
        checkDiskQuota(quotas, "exportMb", own.landed + writtenBy(running, own), {
          bytes,
          outcome: (size) => `this export was stopped after ${size}; nothing was written`,
        });
      },
      land: (bytes, place) =>
        this.locks.run(principal, async () => {
          const placed = await place();
          release();
          for (const other of running) other.landed += bytes;
          return placed;
        }),
      release,
    };
  }
}

/** What the exports in `running` other than `own` have written so far. */
function writtenBy(running: Set<Running>, own: Running | undefined): number {
  let bytes = 0;
  for (const other of running) if (other !== own) bytes += other.written;
  return bytes;
}
