import type Docker from "dockerode";
import { ControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import { deliverAgentToken, legacyEnvToken } from "./docker-agent-token.js";
import { isDockerFailure, type DockerErrors } from "./docker-errors.js";
import { demuxDockerLog } from "./docker-log.js";
import type { DockerNetworks } from "./docker-networks.js";
import { toRunnerContainer } from "./docker-runner-container.js";
import { runnerContainerName, toRunnerCreateOptions, type AgentSettings } from "./docker-runner-spec.js";
import { prepareHardenedWorkspace } from "./docker-workspace-ownership.js";
import type { InstanceScope } from "./instance-scope.js";
import { KIND, LABEL } from "./labels.js";
import type { RunnerContainerSpec, RunnerLimits } from "./runner-container-spec.js";
import { NO_CLAIMS, poolOfOwner, type RunnerOwnership } from "./runner-ownership.js";
import type { RunnerContainer, RunnerContainers, RunnerProcess } from "./runner-containers.js";
import type { RunnerTokenVault } from "./runner-token-vault.js";

const MIB = 1024 * 1024;

/** Runner containers on Docker: named after the runner, labelled with owner and instance, tokens kept in the vault. */
export class DockerRunnerContainers implements RunnerContainers {
  constructor(
    private readonly docker: Docker,
    private readonly errors: DockerErrors,
    private readonly log: Logger,
    private readonly scope: InstanceScope,
    private readonly networks: DockerNetworks,
    private readonly tokens: RunnerTokenVault,
    /** Spilled exec output each agent keeps for all its processes together. */
    private readonly execOutputMb: number,
    /** Who claimed pooled runners (their labels name the pool). */
    private readonly claims: RunnerOwnership = NO_CLAIMS,
  ) {}

  async startRunner(spec: RunnerContainerSpec): Promise<RunnerContainer> {
    const networkEnabled = await this.networks.hasOutboundAccess(spec.network);
    if (spec.hardened && spec.storage.kind === "volume")
      await prepareHardenedWorkspace(this.docker, this.errors, spec, spec.storage.volume);
    const agent: AgentSettings = { execOutputMb: this.execOutputMb, tokenOnStdin: await this.readsTokenOnStdin(spec) };
    // Kept before the container exists, so a runner never runs with a token this control plane could not find again.
    this.tokens.set(spec.runnerId, spec.token);
    let container: Docker.Container;
    try {
      container = await this.errors.call(`create a runner from "${spec.image}"`, () =>
        this.docker.createContainer(toRunnerCreateOptions(spec, networkEnabled, agent, this.scope.labels())),
      );
    } catch (error) {
      this.tokens.delete(spec.runnerId);
      throw error;
    }
    try {
      if (agent.tokenOnStdin) await deliverAgentToken(container, spec.token);
      else await container.start();
    } catch (error) {
      await container.remove({ force: true, v: true }).catch(() => undefined);
      this.tokens.delete(spec.runnerId);
      throw this.errors.wrap(error, `start a runner from "${spec.image}"`);
    }
    const started = await this.findRunner(spec.runnerId);
    if (!started)
      throw new ControlPlaneError(
        "RUNNER_START_FAILED",
        `Runner "${spec.runnerId}" disappeared right after it was started.`,
      );
    return started;
  }

  async findRunner(runnerId: string): Promise<RunnerContainer | undefined> {
    try {
      const info = await this.docker.getContainer(runnerContainerName(runnerId)).inspect();
      const labels = info.Config.Labels;
      if (labels?.[LABEL.runner] !== runnerId || labels[LABEL.kind] !== KIND.runner || !this.scope.owns(labels))
        return undefined;
      // Runners created by an older version carry their token in Env; every other one's is in the vault.
      const runner = { ...toRunnerContainer(info), token: legacyEnvToken(info) ?? this.tokens.get(runnerId) };
      return withClaim(runner, this.claims);
    } catch (error) {
      if (isDockerFailure(error, "missing")) return undefined;
      throw this.errors.wrap(error, `inspect runner "${runnerId}"`);
    }
  }

  async listRunners(principal: string): Promise<RunnerContainer[]> {
    const [labelled, claimed] = await Promise.all([
      this.listByLabels([`${LABEL.owner}=${principal}`]),
      Promise.all(this.claims.runnerIdsOf(principal).map((runnerId) => this.findRunner(runnerId))),
    ]);
    return [...labelled, ...claimed].filter(
      (runner): runner is RunnerContainer => runner !== undefined && runner.principal === principal,
    );
  }

  listAllRunners(): Promise<RunnerContainer[]> {
    return this.listByLabels([`${LABEL.managed}=true`]);
  }

  private async listByLabels(labels: string[]): Promise<RunnerContainer[]> {
    const summaries = await this.errors.call("list runners", () =>
      this.docker.listContainers({
        all: true,
        filters: { label: [`${LABEL.kind}=${KIND.runner}`, ...this.scope.labelFilter(), ...labels] },
      }),
    );
    const owned = summaries.filter((summary) => this.scope.owns(summary.Labels));
    const runners = await Promise.all(owned.map((summary) => this.findRunner(summary.Labels[LABEL.runner] ?? "")));
    return runners.filter((runner): runner is RunnerContainer => runner !== undefined);
  }

  async runnerLogs(runnerId: string, lines: number): Promise<string> {
    try {
      const raw = await this.docker
        .getContainer(runnerContainerName(runnerId))
        .logs({ stdout: true, stderr: true, tail: lines, follow: false });
      return demuxDockerLog(raw as unknown as Buffer);
    } catch (error) {
      if (isDockerFailure(error, "missing")) return "";
      throw this.errors.wrap(error, `read the logs of runner "${runnerId}"`);
    }
  }

  async removeRunner(runnerId: string): Promise<void> {
    try {
      // `v` removes anonymous volumes only (the agent's spill volume); named workspace volumes always survive the container.
      await this.docker.getContainer(runnerContainerName(runnerId)).remove({ force: true, v: true });
    } catch (error) {
      // 409: removal already in progress; the container is going away either way.
      if (!isDockerFailure(error, "missing", "conflict")) throw this.errors.wrap(error, `remove runner "${runnerId}"`);
    }
    this.tokens.delete(runnerId);
    this.claims.delete(runnerId);
  }

  async updateLimits(runnerId: string, limits: RunnerLimits): Promise<void> {
    try {
      await this.docker.getContainer(runnerContainerName(runnerId)).update({
        NanoCpus: Math.round(limits.cpus * 1e9),
        Memory: limits.memoryMb * MIB,
        MemorySwap: limits.memoryMb * MIB,
        PidsLimit: limits.pids,
      });
    } catch (error) {
      throw this.runnerError(error, runnerId, "change the limits of");
    }
  }

  async pauseRunner(runnerId: string): Promise<void> {
    try {
      await this.docker.getContainer(runnerContainerName(runnerId)).pause();
    } catch (error) {
      throw this.runnerError(error, runnerId, "pause");
    }
  }

  async resumeRunner(runnerId: string): Promise<void> {
    const container = this.docker.getContainer(runnerContainerName(runnerId));
    try {
      if ((await container.inspect()).State.Paused) await container.unpause();
    } catch (error) {
      throw this.runnerError(error, runnerId, "resume");
    }
  }

  async runnerProcesses(runnerId: string): Promise<RunnerProcess[]> {
    let listing: { Titles?: string[]; Processes?: string[][] };
    try {
      listing = await this.docker.getContainer(runnerContainerName(runnerId)).top({ ps_args: "-o pid,ppid,args" });
    } catch (error) {
      // 409: not running; 404: gone. Neither has processes.
      if (isDockerFailure(error, "missing", "conflict")) return [];
      throw this.runnerError(error, runnerId, "list the processes of");
    }
    const titles = listing.Titles ?? [];
    const [pid, ppid, args] = ["PID", "PPID", "COMMAND"].map((title) => titles.indexOf(title));
    return (listing.Processes ?? []).map((row) => ({
      pid: Number(row[pid!]),
      ppid: Number(row[ppid!]),
      command: row[args!] ?? "",
    }));
  }

  async stopRunner(runnerId: string, timeoutS: number): Promise<void> {
    try {
      await this.docker.getContainer(runnerContainerName(runnerId)).stop({ t: timeoutS });
    } catch (error) {
      if (isDockerFailure(error, "unchanged")) return;
      throw this.runnerError(error, runnerId, "stop");
    }
  }

  async restartRunner(runnerId: string): Promise<RunnerContainer> {
    const container = this.docker.getContainer(runnerContainerName(runnerId));
    try {
      const info = await container.inspect();
      if (!info.State.Running) await this.startAgain(container, info, runnerId);
    } catch (error) {
      if (error instanceof ControlPlaneError) throw error;
      if (!isDockerFailure(error, "unchanged")) throw this.runnerError(error, runnerId, "start");
    }
    const runner = await this.findRunner(runnerId);
    if (!runner) throw runnerGone(runnerId, "start");
    return runner;
  }

  /** Whether the runner's agent reads its token on stdin: an injected one does, a baked one when its image says so. */
  private async readsTokenOnStdin(spec: RunnerContainerSpec): Promise<boolean> {
    if (spec.agentVolume) return true;
    const labels =
      (
        await this.errors.call(`inspect image "${spec.image}"`, () =>
          this.docker.getImage(spec.imageId ?? spec.image).inspect(),
        )
      ).Config.Labels ?? {};
    if (labels[LABEL.agentToken] === "stdin") return true;
    this.log.warn(
      { image: spec.image, runner: spec.runnerId },
      "the image's baked agent reads its token only from Env, where docker inspect shows it; rebuild the image with the current agent",
    );
    return false;
  }

  /** Starts a stopped runner with its token on stdin; runners of older versions read theirs from Env and just start. */
  private async startAgain(
    container: Docker.Container,
    info: Docker.ContainerInspectInfo,
    runnerId: string,
  ): Promise<void> {
    if (!info.Config.OpenStdin) return void (await container.start());
    const token = this.tokens.get(runnerId);
    if (token === undefined) {
      throw new ControlPlaneError(
        "RUNNER_START_FAILED",
        `Runner "${runnerId}" cannot be started again: this control plane does not hold its agent token (it was created with another state folder); remove it with runner_remove.`,
        {
          hint: "runner_remove deletes it (its workspace is kept); runner_attach with the workspace_key then gives the workspace a new runner.",
        },
      );
    }
    await deliverAgentToken(container, token);
  }

  private runnerError(error: unknown, runnerId: string, verb: string): ControlPlaneError {
    return isDockerFailure(error, "missing")
      ? runnerGone(runnerId, verb, error)
      : this.errors.wrap(error, `${verb} runner "${runnerId}"`);
  }
}

/** A pooled runner as its claimer sees it: owner, alias, creation time and env from the claim. */
function withClaim(runner: RunnerContainer, claims: RunnerOwnership): RunnerContainer {
  const pool = poolOfOwner(runner.principal);
  if (pool === undefined) return runner;
  const claim = claims.get(runner.runnerId);
  if (!claim) return { ...runner, pool };
  return {
    ...runner,
    pool,
    principal: claim.principal,
    alias: claim.alias,
    createdAt: claim.claimedAt,
    env: claim.env,
  };
}

function runnerGone(runnerId: string, verb: string, cause?: unknown): ControlPlaneError {
  return new ControlPlaneError(
    "NOT_FOUND",
    `Cannot ${verb} runner "${runnerId}": its container no longer exists; spawn a new runner.`,
    {
      cause,
      hint: "runner_list shows what is left; runner_attach with the workspace_key gives its workspace a new runner, runner_spawn starts a fresh one.",
    },
  );
}
