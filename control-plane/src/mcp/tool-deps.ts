import type { Logger } from "../log.js";
import type { ExecService } from "../runners/exec-service.js";
import type { FileService } from "../runners/file-service.js";
import type { Principal } from "../runners/runner.js";
import type { RunnerService } from "../runners/runner-service.js";

/** What every tool gets: the domain services, the session's principal and a logger. */
export interface ToolDeps {
  runners: RunnerService;
  execs: ExecService;
  files: FileService;
  principal: Principal;
  log: Logger;
}
