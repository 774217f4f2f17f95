/** The runtime role that delivers the agent to runners of images without it: one read-only volume per architecture. */
export interface AgentVolumes {
  /**
   * Makes sure the read-only volume holding the agent and its Node runtime for `architecture` exists and is
   * complete (created and filled once, rebuilt when incomplete); returns its name. `helperImage` must be local.
   */
  ensure(architecture: string, helperImage: string, onProgress?: (status: string) => void): Promise<string>;
}
