import type { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import type { ToolDeps } from "../tool-deps.js";
import { registerFileResource } from "./file-resource.js";
import { createFileSubscriptionProvider } from "./file-subscription-provider.js";
import { ResourceSubscriptions } from "./resource-subscriptions.js";
import { registerRunnerResource } from "./runner-resource.js";
import { createRunnerSubscriptionProvider } from "./runner-subscription-provider.js";

/**
 * The session's runner and file resources, its subscriptions (runners, files, and `deps.subscriptionProviders`)
 * and resources/list_changed when the list changes: a runner of the principal spawned or removed, or the client's
 * roots changed. Everything it follows ends with the session. Call before the server connects.
 */
export function registerSessionResources(server: McpServer, deps: ToolDeps): ResourceSubscriptions {
  registerRunnerResource(server, deps);
  registerFileResource(server, deps);
  const subscriptions = new ResourceSubscriptions(
    server.server,
    [
      createRunnerSubscriptionProvider(deps.runners, deps.principal),
      createFileSubscriptionProvider(deps.watches, deps.principal),
      ...deps.subscriptionProviders,
    ],
    deps.log,
    deps.sessionLimits.maxSubscriptions,
  );
  const stopRunnerChanges = deps.runners.onRunnerChange((principalId) => {
    if (principalId === deps.principal.id) server.sendResourceListChanged();
  });
  const stopRootChanges = deps.roots.onChange(() => server.sendResourceListChanged());
  const previousOnClose = server.server.onclose;
  server.server.onclose = () => {
    previousOnClose?.();
    stopRunnerChanges();
    stopRootChanges();
    subscriptions
      .closeAll()
      .catch((error: unknown) => deps.log.warn({ err: error }, "closing resource subscriptions failed"));
  };
  return subscriptions;
}
