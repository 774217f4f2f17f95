import type { Server } from "@modelcontextprotocol/sdk/server/index.js";
import { SubscribeRequestSchema, UnsubscribeRequestSchema } from "@modelcontextprotocol/sdk/types.js";
import { ControlPlaneError } from "../../errors.js";
import type { Logger } from "../../log.js";
import { toResourceError } from "./resource-error.js";
import type { SubscriptionProvider } from "./subscription-provider.js";

/** At most one notifications/resources/updated per URI in this window: the first at once, the rest folded into one. */
export const UPDATE_WINDOW_MS = 100;

interface Subscription {
  /** Resolves with the provider's stop function once it follows the URI. */
  started: Promise<() => Promise<void>>;
  lastSentAt: number;
  pending: NodeJS.Timeout | undefined;
}

/**
 * The session's resources/subscribe and resources/unsubscribe: each URI goes to the first provider that handles
 * it, changes become notifications/resources/updated (throttled per URI), and every subscription ends with the
 * session. Call before the server connects: it declares the `resources.subscribe` capability.
 */
export class ResourceSubscriptions {
  private readonly subscriptions = new Map<string, Subscription>();

  constructor(
    private readonly server: Server,
    private readonly providers: readonly SubscriptionProvider[],
    private readonly log: Logger,
    /** The most URIs this session may follow at once (sessions.max_subscriptions). */
    private readonly maxSubscriptions: number = Number.POSITIVE_INFINITY,
  ) {
    server.registerCapabilities({ resources: { subscribe: true, listChanged: true } });
    server.setRequestHandler(SubscribeRequestSchema, async (request) => {
      await this.subscribe(request.params.uri).catch((error: unknown) => {
        throw toResourceError(error);
      });
      return {};
    });
    server.setRequestHandler(UnsubscribeRequestSchema, async (request) => {
      await this.unsubscribe(request.params.uri);
      return {};
    });
  }

  get size(): number {
    return this.subscriptions.size;
  }

  /** Follows `uri`; subscribing again to a followed URI changes nothing. */
  async subscribe(uri: string): Promise<void> {
    const existing = this.subscriptions.get(uri);
    if (existing) return void (await existing.started);
    const provider = this.providers.find((candidate) => candidate.handles(uri));
    if (!provider) {
      throw new ControlPlaneError(
        "INVALID_ARGUMENT",
        `Resource "${uri}" cannot be subscribed to; subscribe to a runner (devhatchery://runners/{runner}), a file or directory (devhatchery://runners/{runner}/files/{path}) or an exec's output.`,
      );
    }
    if (this.subscriptions.size >= this.maxSubscriptions) {
      throw new ControlPlaneError(
        "RESOURCE_EXHAUSTED",
        `Cannot subscribe to "${uri.slice(0, 200)}": this session follows ${this.subscriptions.size} resources and the limit is ${this.maxSubscriptions} (sessions.max_subscriptions); ` +
          "unsubscribe from resources you no longer need (resources/unsubscribe), or ask the operator to raise sessions.max_subscriptions (DEVHATCHERY_MAX_SUBSCRIPTIONS).",
        { hint: "resources/unsubscribe from resources you no longer follow, then subscribe again." },
      );
    }
    const subscription: Subscription = {
      started: provider.subscribe(uri, () => this.changed(uri, subscription)),
      lastSentAt: 0,
      pending: undefined,
    };
    this.subscriptions.set(uri, subscription);
    try {
      await subscription.started;
      this.log.debug({ uri }, "resource subscribed");
    } catch (error) {
      if (this.subscriptions.get(uri) === subscription) this.subscriptions.delete(uri);
      throw error;
    }
  }

  /** Stops following `uri`; unsubscribing from a URI not followed is not an error. */
  async unsubscribe(uri: string): Promise<void> {
    const subscription = this.subscriptions.get(uri);
    if (!subscription) return;
    this.subscriptions.delete(uri);
    await this.stop(uri, subscription);
  }

  /** Ends every subscription (the session closed). */
  async closeAll(): Promise<void> {
    const all = [...this.subscriptions];
    this.subscriptions.clear();
    await Promise.all(all.map(([uri, subscription]) => this.stop(uri, subscription)));
  }

  private async stop(uri: string, subscription: Subscription): Promise<void> {
    clearTimeout(subscription.pending);
    subscription.pending = undefined;
    try {
      const stopFollowing = await subscription.started;
      await stopFollowing();
      this.log.debug({ uri }, "resource unsubscribed");
    } catch (error) {
      // A subscription that never started has nothing to stop; one that fails to stop is logged, not rethrown.
      this.log.debug({ err: error, uri }, "stopping a resource subscription failed");
    }
  }

  private changed(uri: string, subscription: Subscription): void {
    if (this.subscriptions.get(uri) !== subscription || subscription.pending) return;
    const wait = subscription.lastSentAt + UPDATE_WINDOW_MS - Date.now();
    if (wait <= 0) return this.send(uri, subscription);
    subscription.pending = setTimeout(() => {
      subscription.pending = undefined;
      if (this.subscriptions.get(uri) === subscription) this.send(uri, subscription);
    }, wait);
  }

  private send(uri: string, subscription: Subscription): void {
    subscription.lastSentAt = Date.now();
    this.server
      .sendResourceUpdated({ uri })
      .catch((error: unknown) => this.log.debug({ err: error, uri }, "could not send resources/updated"));
  }
}
