/**
 * Something that can turn a resource URI into a live subscription for one MCP session. The session's
 * resources/subscribe handler asks each provider in turn; the first that handles the URI follows it.
 */
export interface SubscriptionProvider {
  /** True when this provider serves `uri` (e.g. a file URI, or an exec output URI). */
  handles(uri: string): boolean;
  /**
   * Starts following `uri`; call `changed()` whenever the resource changed (the caller debounces and sends
   * notifications/resources/updated). Resolves with a function that stops following it.
   */
  subscribe(uri: string, changed: () => void): Promise<() => Promise<void>>;
}
