/** The runtime role that answers for the engine as a whole. */
export interface EngineStatus {
  /** Fails with DOCKER_UNAVAILABLE (the client-visible code, whatever the engine) when the engine cannot be reached. */
  ping(): Promise<void>;
  /**
   * Runner containers and workspace volumes made by a version before instance labels that this control plane does not
   * serve (zero when it adopts them): an upgrade's objects an operator may be looking for.
   */
  countUnservedLegacyObjects(): Promise<{ runners: number; volumes: number }>;
  /** The engine host's memory and CPUs, as the engine reports them. */
  capacity(): Promise<{ memoryMb: number; cpus: number }>;
}
