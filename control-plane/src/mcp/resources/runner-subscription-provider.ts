import type { Principal } from "../../runners/runner.js";
import type { RunnerService } from "../../runners/runner-service.js";
import { parseRunnerUri } from "./resource-uris.js";
import { findRunner } from "./runner-resource.js";
import type { SubscriptionProvider } from "./subscription-provider.js";

/** Follows runner URIs of the principal's runners: a change is the runner becoming ready or being removed. */
export function createRunnerSubscriptionProvider(runners: RunnerService, principal: Principal): SubscriptionProvider {
  return {
    handles: (uri) => parseRunnerUri(uri) !== undefined,
    async subscribe(uri, changed) {
      const runnerId = parseRunnerUri(uri)?.runnerId ?? "";
      await findRunner(runners, principal, runnerId);
      const stop = runners.onRunnerChange((principalId, changedId) => {
        if (principalId === principal.id && changedId === runnerId) changed();
      });
      return async () => void stop();
    },
  };
}
