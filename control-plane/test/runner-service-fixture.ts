import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AuditEvent, AuditLog } from "../src/audit.js";
import { createLogger, type Logger } from "../src/log.js";
import { ExecService } from "../src/runners/exec/exec-service.js";
import type { Principal } from "../src/runners/runner.js";
import { RunnerService, type RunnerServiceOptions } from "../src/runners/runner-service.js";
import { DockerRuntime } from "../src/runtime/docker-runtime.js";
import { createSqliteStateStore } from "../src/store/sqlite-state-store.js";
import type { StateStore } from "../src/store/state-store.js";
import { createAgentDeliveryFixture, type AgentDeliveryFixture } from "./agent-delivery-fixture.js";
import { docker, removeTestRunners } from "./docker-cleanup.js";

export const RUNNER_IMAGE = "devhatchery-test/runner:dev";
export const DEBIAN_IMAGE = "devhatchery-test/debian:bookworm";

/** One docker-test file's RunnerService world: its own network, state file, principals and audit trail; cleanup() removes all of it. */
export interface RunnerServiceFixture {
  suffix: string;
  network: string;
  log: Logger;
  runtime: DockerRuntime;
  /** The state file; open another store on it to simulate a restart. */
  statePath: string;
  store: StateStore;
  runners: RunnerService;
  execs: ExecService;
  audit: AuditEvent[];
  /** A principal unique to this run, removed (runners and workspaces) by cleanup. */
  principal(name: string): Principal;
  /** Another RunnerService on the same runtime (by default the same store), closed by cleanup. */
  service(options?: Partial<RunnerServiceOptions>, store?: StateStore): RunnerService;
  /** Another store on the same file (a restarted control plane), closed by cleanup. */
  reopenStore(): StateStore;
  cleanup(): Promise<void>;
}

/** `name`, when given, goes into the network's name (principals carry the names given to `principal`). */
export async function createRunnerServiceFixture(
  options: Partial<RunnerServiceOptions> = {},
  name?: string,
): Promise<RunnerServiceFixture> {
  const suffix = randomBytes(4).toString("hex");
  const network = name ? `devhatchery-test-${name}-${suffix}` : `devhatchery-test-${suffix}`;
  const log = createLogger("silent");
  const stateDir = await mkdtemp(join(tmpdir(), "devhatchery-state-"));
  const statePath = join(stateDir, "state.db");
  const agentDelivery: AgentDeliveryFixture = await createAgentDeliveryFixture(suffix);
  const runtime = new DockerRuntime(log, undefined, agentDelivery.options());
  const audit: AuditEvent[] = [];
  const auditLog: AuditLog = { record: (event) => audit.push(event) };
  const store = createSqliteStateStore(statePath);
  const stores: StateStore[] = [store];
  const principals: string[] = [];
  const services: RunnerService[] = [];
  const service = (extra: Partial<RunnerServiceOptions> = {}, on: StateStore = store): RunnerService => {
    const created = new RunnerService(
      runtime,
      on,
      { defaultImage: RUNNER_IMAGE, network, readyTimeoutMs: 15_000, ...options, ...extra },
      log,
      auditLog,
    );
    services.push(created);
    return created;
  };
  const runners = service();
  return {
    suffix,
    network,
    log,
    runtime,
    statePath,
    store,
    runners,
    execs: new ExecService(runners, log),
    audit,
    principal(name) {
      const id = `test-${name}-${suffix}`;
      principals.push(id);
      return { id };
    },
    service,
    reopenStore() {
      const reopened = createSqliteStateStore(statePath);
      stores.push(reopened);
      return reopened;
    },
    async cleanup() {
      for (const created of services) created.close();
      await removeTestRunners(principals, network);
      for (const opened of stores) opened.close();
      await rm(stateDir, { recursive: true, force: true });
      await agentDelivery.cleanup();
    },
  };
}

/** Lines of a command run in a runner through `docker exec` (not the agent), e.g. to kill the agent. */
export async function dockerExec(runnerId: string, script: string): Promise<void> {
  const exec = await docker
    .getContainer(`devhatchery-${runnerId}`)
    .exec({ Cmd: ["sh", "-c", script], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({});
  await new Promise<void>((resolve, reject) => {
    stream.on("end", resolve);
    stream.on("error", reject);
    stream.resume();
  });
}

/** Waits (bounded) until `check` returns true, polling every 100 ms; throws with `what` when it never does. */
export async function eventually(what: string, check: () => Promise<boolean>, attempts = 100): Promise<void> {
  for (let attempt = 0; attempt < attempts; attempt++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
