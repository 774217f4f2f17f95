import type Docker from "dockerode";
import type { DockerErrors } from "./docker-errors.js";
import type { EngineStatus } from "./engine-status.js";
import type { InstanceScope } from "./instance-scope.js";
import { KIND, LABEL } from "./labels.js";

/** The Docker engine as a whole: whether it answers, and what older versions left on it. */
export class DockerEngineStatus implements EngineStatus {
  constructor(
    private readonly docker: Docker,
    private readonly errors: DockerErrors,
    private readonly scope: InstanceScope,
  ) {}

  async ping(): Promise<void> {
    await this.errors.call("reach the Docker engine", () => this.docker.ping());
  }

  async capacity(): Promise<{ memoryMb: number; cpus: number }> {
    const info = (await this.errors.call("read the engine's info", () => this.docker.info())) as {
      MemTotal?: number;
      NCPU?: number;
    };
    return { memoryMb: Math.floor((info.MemTotal ?? 0) / (1024 * 1024)), cpus: info.NCPU ?? 0 };
  }

  async countUnservedLegacyObjects(): Promise<{ runners: number; volumes: number }> {
    if (this.scope.adoptUnlabelled) return { runners: 0, volumes: 0 };
    const [containers, volumes] = await Promise.all([
      this.errors.call("list runners", () =>
        this.docker.listContainers({ all: true, filters: { label: [`${LABEL.kind}=${KIND.runner}`] } }),
      ),
      this.errors.call("list volumes", () =>
        this.docker.listVolumes({ filters: { label: [`${LABEL.kind}=${KIND.workspace}`] } }),
      ),
    ]);
    const unlabelled = (labels: Record<string, string> | null | undefined): boolean =>
      labels?.[LABEL.instance] === undefined;
    return {
      runners: containers.filter((container) => unlabelled(container.Labels)).length,
      volumes: (volumes.Volumes ?? []).filter((volume) => unlabelled(volume.Labels)).length,
    };
  }
}
