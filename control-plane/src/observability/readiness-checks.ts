import type { EngineStatus } from "../runtime/engine-status.js";
import type { ReadinessCheck } from "./readiness.js";

/** The start-up work that makes runners of the default image spawnable, as readiness sees it. */
export interface AgentPreparationState {
  isReady(): boolean;
  /** Why it is not ready yet (for the log), if it failed. */
  failure(): string | undefined;
}

export interface ReadinessSources {
  runtime: { engine: Pick<EngineStatus, "ping"> };
  defaultImage: string;
  /** The configured engine address, named in the logged failure; undefined: Docker's default (local socket or DOCKER_HOST). */
  dockerHost: string | undefined;
  /** The default image's preparation, started at start-up (image present, agent volume filled when not baked). */
  agent: AgentPreparationState;
  /** The state store; absent until one is wired (then the check is left out). */
  store?: { isHealthy(): boolean } | undefined;
  /** With auth.mode oidc: fetches the provider's metadata (cached once it answered); rejects while it cannot be reached. */
  identityProvider?: { issuer: string; discover(): Promise<void> } | undefined;
}

/**
 * What /readyz checks: Docker answers, the state store is open, and runners of the default image can get the agent.
 * Every check only observes: the agent is prepared by start-up work, never by a probe (which needs no credentials).
 */
export function createReadinessChecks(sources: ReadinessSources): ReadinessCheck[] {
  const { runtime, defaultImage, store, dockerHost, agent } = sources;
  const pingEngine = async (): Promise<void> => {
    try {
      await runtime.engine.ping();
    } catch (error) {
      throw new Error(
        `Docker at "${dockerHost ?? "the default socket"}" does not answer: ${(error as Error).message}`,
        { cause: error },
      );
    }
  };
  const checks: ReadinessCheck[] = [
    {
      name: "docker",
      check: pingEngine,
      hint: "Start Docker or fix DEVHATCHERY_DOCKER_HOST (dockerHost) so the control plane can reach the engine.",
    },
    {
      name: "agent",
      check: async () => {
        if (!agent.isReady())
          throw new Error(
            agent.failure() ?? `the default image "${defaultImage}" and its agent are still being prepared`,
          );
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
  const provider = sources.identityProvider;
  if (provider) {
    checks.push({
      name: "oidc",
      check: () => provider.discover(),
      hint: `Make the OpenID Provider "${provider.issuer}" reachable from the control plane, or fix auth.oidc.issuer (DEVHATCHERY_OIDC_ISSUER); until then every OIDC token is refused with 503.`,
    });
  }
  return checks;
}
