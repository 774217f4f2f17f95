/** The runtime role for the networks runners join. */
export interface RunnerNetworks {
  /**
   * Creates the private runner network if it does not exist. With `internal`, the network has no route out
   * (runners spawned with `network: false`); the host still reaches the agents on it.
   */
  ensure(name: string, options?: { internal?: boolean }): Promise<void>;
  /** The host's address on the network (its gateway), where host services runners may use listen. */
  gateway(name: string): Promise<string | undefined>;
}
