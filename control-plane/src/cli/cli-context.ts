import type { ControlPlaneConfig } from "../config.js";

/** What every command gets: where to write, the environment, and how to serve (main.ts is the only place that listens). */
export interface CliContext {
  out(text: string): void;
  err(text: string): void;
  env: NodeJS.ProcessEnv;
  serve(config: ControlPlaneConfig): void;
}
