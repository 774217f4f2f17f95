import { ControlPlaneError } from "../errors.js";

/** One thing wrong with the configuration: where (a key path like `limits.max.memory_mb` or a DEVHATCHERY_* name) and what to do. */
export interface ConfigProblem {
  where: string;
  message: string;
}

/** The configuration cannot be used; `problems` lists everything wrong with it at once. */
export class ConfigError extends ControlPlaneError {
  constructor(readonly problems: ConfigProblem[]) {
    super(
      "INVALID_ARGUMENT",
      `Invalid configuration:\n${problems.map((problem) => `  ${problem.where}: ${problem.message}`).join("\n")}`,
    );
    this.name = "ConfigError";
  }
}
