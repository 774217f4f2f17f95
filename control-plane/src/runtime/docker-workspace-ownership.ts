import type Docker from "dockerode";
import { ControlPlaneError } from "../errors.js";
import { AGENT_ENTRYPOINT, AGENT_MOUNT_PATH } from "./agent-payload.js";
import { HARDENED_USER, type RunnerContainerSpec } from "./runner-container-spec.js";
import { demuxDockerLog } from "./docker-log.js";
import { isDockerFailure, type DockerErrors } from "./docker-errors.js";
import { runnerContainerName, WORK_DIR, workspaceMount } from "./docker-runner-spec.js";
import { KIND, LABEL } from "./labels.js";

const [UID, GID] = HARDENED_USER.split(":").map(Number);
/** Run by the agent's own Node (baked or from the agent volume), so the image needs no chown or shell. */
const CHOWN_SCRIPT = `require("fs").chownSync(${JSON.stringify(WORK_DIR)}, ${UID}, ${GID})`;

/**
 * Makes the root of a hardened runner's workspace volume owned by HARDENED_USER (a fresh volume's root belongs
 * to root). A short-lived helper from the runner's own image runs the agent's Node as root with only CHOWN, no
 * network and no exposure; it changes the mount point only, never the files in it, and is removed afterwards.
 */
export async function prepareHardenedWorkspace(
  docker: Docker,
  errors: DockerErrors,
  spec: RunnerContainerSpec,
  volume: string,
): Promise<void> {
  const name = `${runnerContainerName(spec.runnerId)}-workspace-prep`;
  const helper = await errors.call(`create the workspace helper "${name}"`, () =>
    docker.createContainer({
      name,
      Image: spec.image,
      User: "0:0",
      Entrypoint: [AGENT_ENTRYPOINT[0] ?? `${AGENT_MOUNT_PATH}/bin/node`, "-e", CHOWN_SCRIPT],
      Cmd: [],
      Labels: {
        [LABEL.managed]: "true",
        [LABEL.kind]: KIND.workspaceHelper,
        [LABEL.owner]: spec.principal,
        [LABEL.runner]: spec.runnerId,
      },
      HostConfig: {
        NetworkMode: "none",
        CapDrop: ["ALL"],
        CapAdd: ["CHOWN"],
        SecurityOpt: ["no-new-privileges:true"],
        Mounts: [
          ...(spec.agentVolume
            ? [{ Type: "volume" as const, Source: spec.agentVolume, Target: AGENT_MOUNT_PATH, ReadOnly: true }]
            : []),
          workspaceMount(volume, true),
        ],
      },
    }),
  );
  try {
    await errors.call(`start the workspace helper "${name}"`, () => helper.start());
    const { StatusCode: exitCode } = (await errors.call(`wait for the workspace helper "${name}"`, () =>
      helper.wait(),
    )) as { StatusCode: number };
    if (exitCode !== 0) {
      const output = demuxDockerLog(
        (await helper
          .logs({ stdout: true, stderr: true, follow: false })
          .catch(() => Buffer.alloc(0))) as unknown as Buffer,
      );
      throw new ControlPlaneError(
        "RUNNER_START_FAILED",
        `Cannot make workspace volume "${volume}" writable for the hardened user ${HARDENED_USER}: the helper exited with code ${exitCode} ` +
          `(${output.trim().slice(-500) || "no output"}). Spawn with the default profile, or report the helper's output to the operator.`,
      );
    }
  } finally {
    await helper.remove({ force: true, v: true }).catch((error: unknown) => {
      if (!isDockerFailure(error, "missing")) throw errors.wrap(error, `remove the workspace helper "${name}"`);
    });
  }
}
