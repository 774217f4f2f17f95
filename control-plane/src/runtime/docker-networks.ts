import type Docker from "dockerode";
import { ControlPlaneError } from "../errors.js";
import type { Logger } from "../log.js";
import { isDockerFailure, type DockerErrors } from "./docker-errors.js";
import type { InstanceScope } from "./instance-scope.js";
import { KIND, LABEL } from "./labels.js";
import type { RunnerNetworks } from "./runner-networks.js";

/**
 * Runner networks: bridges with inter-container communication off, so runners cannot reach each other (nor each
 * other's agents) while the control plane reaches them from the host.
 *
 * `internal` networks (runners spawned without network access) get no masquerading and Docker drops anything
 * forwarded off the bridge, so nothing beyond the Docker host is reachable. Verified on Engine 20.10: the host
 * still reaches the agents on them, and runners still cannot reach each other; but, as on every bridge network,
 * a runner can open connections to services the Docker host itself listens on (on 0.0.0.0, or on the bridge's
 * gateway address): the kernel delivers those locally without forwarding them. Bind host services to 127.0.0.1
 * or firewall the bridges when that matters.
 */
export class DockerNetworks implements RunnerNetworks {
  private readonly pending = new Map<string, Promise<void>>();

  constructor(
    private readonly docker: Docker,
    private readonly errors: DockerErrors,
    private readonly log: Logger,
    private readonly scope: InstanceScope,
  ) {}

  /**
   * Concurrent calls share one check-and-create (Docker 20.10 would create duplicates with the same name); later
   * calls check again, so a network removed meanwhile is recreated.
   */
  ensure(name: string, options: { internal?: boolean } = {}): Promise<void> {
    const internal = options.internal === true;
    let pending = this.pending.get(name);
    if (!pending) {
      pending = this.createIfMissing(name, internal).finally(() => this.pending.delete(name));
      this.pending.set(name, pending);
    }
    return pending;
  }

  async gateway(name: string): Promise<string | undefined> {
    const info = await this.errors.call(
      `inspect network "${name}"`,
      () => this.docker.getNetwork(name).inspect() as Promise<Docker.NetworkInspectInfo>,
    );
    return info.IPAM?.Config?.find((config) => config.Gateway)?.Gateway;
  }

  /** Whether runners on the network can reach beyond the Docker host (false for internal networks). */
  async hasOutboundAccess(name: string): Promise<boolean> {
    const info = await this.errors.call(
      `inspect network "${name}"`,
      () => this.docker.getNetwork(name).inspect() as Promise<Docker.NetworkInspectInfo>,
    );
    return !info.Internal;
  }

  private async createIfMissing(name: string, internal: boolean): Promise<void> {
    const existing = await this.errors.call("list networks", () =>
      this.docker.listNetworks({ filters: { name: [name] } }),
    );
    const found = existing.find((network) => network.Name === name);
    if (found) return this.checkInternal(found, internal);
    try {
      await this.docker.createNetwork({
        Name: name,
        Driver: "bridge",
        CheckDuplicate: true,
        Internal: internal,
        // A network of the same name made by another instance is used as it is: inter-container traffic is off on it.
        Labels: { [LABEL.managed]: "true", [LABEL.kind]: KIND.network, ...this.scope.labels() },
        Options: { "com.docker.network.bridge.enable_icc": "false" },
      });
      this.log.info({ network: name, internal }, "created runner network");
    } catch (error) {
      if (!isDockerFailure(error, "conflict")) throw this.errors.wrap(error, `create network "${name}"`);
    }
  }

  private checkInternal(network: Docker.NetworkInspectInfo, internal: boolean): void {
    if (Boolean(network.Internal) === internal) return;
    throw new ControlPlaneError(
      "FAILED_PRECONDITION",
      `Network "${network.Name}" exists but is ${network.Internal ? "internal (no outbound access)" : "not internal (has outbound access)"}, ` +
        `while runners need it ${internal ? "internal" : "with outbound access"}; remove it (\`docker network rm ${network.Name}\`) ` +
        "or configure another runner network name.",
    );
  }
}
