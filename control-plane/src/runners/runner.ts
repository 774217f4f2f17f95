import type { Principal } from "../auth/principal.js";

/** What a caller sees of a runner. */
export interface RunnerInfo {
  runnerId: string;
  image: string;
  status: "starting" | "ready" | "stopped" | "unknown";
  createdAt: string;
}

export type { Principal };

/** Runner ids are short, random and URL-safe: `r-` and 12 hex digits. */
export const RUNNER_ID_PATTERN = /^r-[0-9a-f]{12}$/;
