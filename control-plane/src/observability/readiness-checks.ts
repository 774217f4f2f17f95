import type { ContainerRuntime } from "../runtime/container-runtime.js";
import type { ReadinessCheck } from "./readiness.js";

export interface ReadinessSources {
  runtime: Pick<ContainerRuntime, "ping" | "ensureImage" | "ensureAgentVolume">;
  defaultImage: string;
  /** The configured engine address, named in the failure; undefined: Docker's default (local socket or DOCKER_HOST). */
  dockerHost: string | undefined;
  /** The state store; absent until one is wired (then the check is left out). */
  store?: { isHealthy(): boolean } | undefined;
}

/**
 * What /readyz checks: Docker answers, the state store is open, and runners of the default image can get the agent
 * (the image is present and either has it baked or its agent volume is filled). That last one is prepared once, on
 * the first check, like the first spawn would; once it succeeded it is not repeated.
 */
export function createReadinessChecks(sources: ReadinessSources): ReadinessCheck[] {
  const { runtime, defaultImage, store, dockerHost } = sources;
  const pingDocker = async (): Promise<void> => {
    try {
      await runtime.ping();
    } catch (error) {
      throw new Error(`Docker at "${dockerHost ?? "the default socket"}" does not answer: ${(error as Error).message}`, { cause: error });
    }
  };
  let agentReady = false;
  let preparing: Promise<void> | undefined;
  const prepareAgent = async (): Promise<void> => {
    const image = await runtime.ensureImage(defaultImage);
    if (!image.agentVersion) await runtime.ensureAgentVolume(image.architecture, defaultImage);
    agentReady = true;
  };
  const checks: ReadinessCheck[] = [
    { name: "docker", check: pingDocker, hint: "Start Docker or fix DEVHATCHERY_DOCKER_HOST (dockerHost) so the control plane can reach the engine." },
    {
      name: "agent",
      check: async () => {
        if (agentReady) return;
        preparing ??= prepareAgent().finally(() => (preparing = undefined));
        await preparing;
      },
      hint:
        `Make the default image "${defaultImage}" available (pull it) or set DEVHATCHERY_DEFAULT_IMAGE to a local image. ` +
        "Without a registry, build one from local images: `devhatchery images build --base <local image> --node-source <local Node image>` " +
        '(docs/operators.md, "No registry (offline)").',
    },
  ];
  if (store) {
    checks.push({
      name: "store",
      check: async () => {
        if (!store.isHealthy()) throw new Error("the state store is closed or does not answer");
      },
      hint: "Check that the state directory (DEVHATCHERY_STATE_DIR) is on a writable, healthy disk; restart the control plane.",
    });
  }
  return checks;
}
