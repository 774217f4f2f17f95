import type { Principal } from "../auth/principal.js";
import type { RunnerSnapshot } from "../runtime/runner-snapshots.js";

export type RunnerStatus = "starting" | "ready" | "paused" | "stopped" | "failed" | "unknown";
export type StorageKind = "volume" | "tmpfs";
export type IsolationProfile = "default" | "hardened";

/** What a caller sees of a runner. */
export interface RunnerInfo {
  runnerId: string;
  image: string;
  /** starting: being created; ready: its agent answers; stopped: the container is stopped (runner_attach starts it); failed: the spawn failed (see `error`). */
  status: RunnerStatus;
  createdAt: string;
  alias?: string | undefined;
  workspaceKey?: string | undefined;
  storage?: StorageKind;
  /** The workspace volume's name with storage "volume". */
  volume?: string | undefined;
  /** The last call that used the runner (ISO 8601), when known. */
  lastActivityAt?: string | undefined;
  /** Why a ready runner counted as in use at its last idle check (recent_call, processes, watches, streams). */
  activity?: string[] | undefined;
  /** Set when the control plane stopped or paused the runner because nobody used it: the next call starts it again. */
  idle?: { action: "stop" | "pause"; at: string } | undefined;
  limits?: { cpus: number; memoryMb: number; pids: number };
  network?: boolean;
  profile?: IsolationProfile;
  /** Why a stopped or failed runner is not ready: the spawn error, or how its agent ended (exit code, OOM). */
  error?: string | undefined;
  exitCode?: number | undefined;
  /** True when the runner was claimed from a warm pool; false when it was created for its spawn (cold). */
  pooled?: boolean | undefined;
}

/** What runner_spawn asks for; everything optional falls back to the operator's defaults. */
export interface SpawnRequest {
  image?: string | undefined;
  /** One of the caller's snapshots (id or name) to run instead of an image; never together with `image`. */
  snapshot?: string | undefined;
  /** Allowed roots to bind under /export, validated before the container is created. */
  mounts?:
    | { alias: string; subpath?: string | undefined; target?: string | undefined; mode?: "ro" | "rw" | undefined }[]
    | undefined;
  /** The principal's workspace to mount at /work (created when new); default: a fresh key per runner. */
  workspaceKey?: string | undefined;
  /** volume (default): /work is the workspace volume and outlives the runner; tmpfs: /work is gone on removal. */
  storage?: StorageKind | undefined;
  alias?: string | undefined;
  cpus?: number | undefined;
  memoryMb?: number | undefined;
  /** False: no outbound network. Default true. */
  network?: boolean | undefined;
  env?: Record<string, string> | undefined;
  profile?: IsolationProfile | undefined;
  /** Scoped to the principal, kept 24 h: the same key and arguments return the same runner. */
  idempotencyKey?: string | undefined;
}

/** A workspace as its owner sees it. */
export interface WorkspaceInfo {
  workspaceKey: string;
  volume: string;
  createdAt: string;
  sizeBytes: number | undefined;
  lastUsedAt: string | undefined;
  /** Runners (running or stopped) that mount it. */
  runners: string[];
}

/** A snapshot as its owner sees it: the runtime's record without the owner. */
export type SnapshotInfo = Omit<RunnerSnapshot, "principal">;

export type { Principal };

/** Runner ids are short, random and URL-safe: `r-` and 12 hex digits. */
export const RUNNER_ID_PATTERN = /^r-[0-9a-f]{12}$/;
/** Aliases and workspace keys: letters, digits, ".", "_" and "-", starting with a letter or digit, at most 63. */
export const RUNNER_NAME_PATTERN = /^[a-zA-Z0-9][a-zA-Z0-9._-]{0,62}$/;
