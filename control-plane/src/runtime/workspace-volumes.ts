/** A principal's workspace volume (labels io.devhatchery.owner and io.devhatchery.workspace). */
export interface WorkspaceVolume {
  name: string;
  principal: string;
  workspaceKey: string;
  createdAt: string;
  /** The image of the runner the volume was created for (label io.devhatchery.image), when the creator said. */
  image?: string | undefined;
  /** Bytes used, when asked for and the engine could say (docker system df). */
  sizeBytes: number | undefined;
  /** Runner ids whose containers (running or stopped) mount it. */
  usedBy: string[];
}

/** The runtime role for workspace volumes: /work storage that outlives the runners mounting it. */
export interface WorkspaceVolumes {
  /**
   * Creates the principal's volume for `workspaceKey` when missing (labelled, with `image` when given), returns it;
   * never changes an existing one.
   */
  ensure(principal: string, workspaceKey: string, createdAt: string, image?: string): Promise<WorkspaceVolume>;
  find(principal: string, workspaceKey: string): Promise<WorkspaceVolume | undefined>;
  /** The principal's workspace volumes; `sizes` asks the engine for disk usage (slower). */
  list(principal: string, options?: { sizes?: boolean }): Promise<WorkspaceVolume[]>;
  /** Every principal's workspace volumes (garbage collection, usage gauges). */
  listAll(options?: { sizes?: boolean }): Promise<WorkspaceVolume[]>;
  /** Removes a workspace volume; VOLUME_IN_USE when a container (even a stopped one) still mounts it. */
  remove(name: string): Promise<void>;
}
