import { join } from "node:path";
import type { AgentClient } from "../agent-client/agent-client.js";
import { asControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import type { Meter } from "../meter.js";
import type { RunnerNetworks } from "../runtime/runner-networks.js";
import { AptCacheProxy } from "./apt-cache-proxy.js";
import { AptCacheStore } from "./apt-cache-store.js";
import { configureRunnerApt } from "./runner-apt-config.js";

export interface AptCacheSettings {
  port: number;
  maxMb: number;
  indexTtlS: number;
  /** The control plane's state folder: the cache lives in <stateDir>/apt-cache. */
  stateDir: string;
}

const UPSTREAM_TIMEOUT_MS = 30_000;

/**
 * The apt cache of one control plane: a store on its disk and a proxy listening on the gateway address of each runner
 * network that has runners with outbound access (the first spawn there starts it). Runners are pointed at it when
 * they are created (configureRunner).
 */
export class AptCache {
  private readonly store: AptCacheStore;
  private readonly proxy: AptCacheProxy;
  private opened: Promise<void> | undefined;
  private readonly endpoints = new Map<string, Promise<{ host: string; port: number } | undefined>>();

  constructor(
    private readonly settings: AptCacheSettings,
    private readonly networks: Pick<RunnerNetworks, "gateway">,
    meter: Meter,
    private readonly log: Logger,
  ) {
    this.store = new AptCacheStore(join(settings.stateDir, "apt-cache"), settings.maxMb * 1024 * 1024, log);
    this.proxy = new AptCacheProxy(
      this.store,
      { indexTtlMs: settings.indexTtlS * 1000, upstreamTimeoutMs: UPSTREAM_TIMEOUT_MS },
      meter,
      log,
    );
  }

  /**
   * Points a new runner's apt at the cache (its network must have outbound access). Best effort: a runner whose
   * image has no apt, or a cache that could not listen, goes on without it.
   */
  async configureRunner(client: AgentClient, network: string): Promise<boolean> {
    const endpoint = await this.endpointFor(network);
    if (!endpoint) return false;
    try {
      return await configureRunnerApt(client, endpoint);
    } catch (error) {
      this.log.debug({ err: error, runner: client.runnerId }, "could not point the runner's apt at the apt cache");
      return false;
    }
  }

  async close(): Promise<void> {
    await this.proxy.close();
  }

  private endpointFor(network: string): Promise<{ host: string; port: number } | undefined> {
    let endpoint = this.endpoints.get(network);
    if (!endpoint) {
      endpoint = this.listenOn(network);
      this.endpoints.set(network, endpoint);
    }
    return endpoint;
  }

  private async listenOn(network: string): Promise<{ host: string; port: number } | undefined> {
    try {
      this.opened ??= this.store.open();
      await this.opened;
      const host = await this.networks.gateway(network);
      if (!host) throw new Error(`network "${network}" has no gateway address`);
      const port = await this.proxy.listen(host, this.settings.port);
      this.log.info({ network, host, port, cachedBytes: this.store.bytes }, "apt cache listening for runners");
      return { host, port };
    } catch (error) {
      // Tried again at the next spawn on this network (e.g. once another control plane freed the port).
      this.endpoints.delete(network);
      this.log.warn(
        { err: error, network, port: this.settings.port },
        `the apt cache cannot listen for runners: ${asControlPlaneError(error).message}; runners download packages directly (set apt_cache.port, or apt_cache.enabled: false)`,
      );
      return undefined;
    }
  }
}
