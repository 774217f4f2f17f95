import { RUNNER_ID_PATTERN, RUNNER_NAME_PATTERN, type Principal } from "../../runners/runner.js";
import type { RunnerService } from "../../runners/runner-service.js";
import { parseRunnerUri } from "./resource-uris.js";
import { findRunner } from "./runner-resource.js";
import type { SubscriptionProvider } from "./subscription-provider.js";

/**
 * Follows runner URIs of the principal's runners: a change is the runner starting, becoming ready, failing,
 * stopping, starting again or being removed. A URI by runner id needs an existing runner. A URI by alias or
 * workspace key follows whichever runner has that name, also one that does not exist yet: subscribe to
 * devhatchery://runners/build, then runner_spawn with alias "build" and wait false, and hear when it is ready.
 */
export function createRunnerSubscriptionProvider(runners: RunnerService, principal: Principal): SubscriptionProvider {
  return {
    handles: (uri) => parseRunnerUri(uri) !== undefined,
    async subscribe(uri, changed) {
      const ref = parseRunnerUri(uri)?.runnerId ?? "";
      if (RUNNER_ID_PATTERN.test(ref) || !RUNNER_NAME_PATTERN.test(ref)) {
        const { runnerId } = await findRunner(runners, principal, ref);
        const stop = runners.onRunnerChange((principalId, changedId) => {
          if (principalId === principal.id && changedId === runnerId) changed();
        });
        return async () => void stop();
      }
      return followName(runners, principal, ref, changed);
    },
  };
}

async function followName(
  runners: RunnerService,
  principal: Principal,
  name: string,
  changed: () => void,
): Promise<() => Promise<void>> {
  const resolve = (): Promise<string | undefined> => runners.resolveRunnerId(principal, name).catch(() => undefined);
  let current = await resolve();
  // One lookup after another, so a quick starting → ready still ends with the runner the name now names.
  let queue = Promise.resolve();
  const stop = runners.onRunnerChange((principalId, changedId) => {
    if (principalId !== principal.id) return;
    queue = queue.then(async () => {
      const previous = current;
      current = await resolve();
      if (changedId === previous || changedId === current) changed();
    });
  });
  return async () => void stop();
}
