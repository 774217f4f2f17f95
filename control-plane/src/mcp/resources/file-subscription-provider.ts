import type { Principal } from "../../runners/runner.js";
import type { WatchService } from "../../runners/files/watch-service.js";
import { parseFileUri } from "./resource-uris.js";
import type { SubscriptionProvider } from "./subscription-provider.js";

/**
 * Follows file and directory URIs of the principal's runners with an agent watch: a file through its directory
 * (creation, change, replacement, removal), a directory with everything below it.
 */
export function createFileSubscriptionProvider(watches: WatchService, principal: Principal): SubscriptionProvider {
  return {
    handles: (uri) => parseFileUri(uri) !== undefined,
    async subscribe(uri, changed) {
      const target = parseFileUri(uri);
      if (!target) throw new Error(`not a file URI: ${uri}`);
      const handle = await watches.follow(principal, target.runnerId, target.path, changed);
      return () => handle.close();
    },
  };
}
