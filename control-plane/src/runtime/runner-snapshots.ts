/** Every snapshot image's repository starts with this and a "/": image references there are snapshots, never pulled. */
export const SNAPSHOT_REPOSITORY = "devhatchery-snapshot";

/** What to commit a runner into: the snapshot's identity, fixed by the domain. */
export interface SnapshotSpec {
  /** `s-` and 12 hex digits; the image tag. */
  snapshotId: string;
  principal: string;
  /** The caller's name for it (label io.devhatchery.snapshot.name), unique per principal; checked by the domain. */
  name?: string | undefined;
  createdAt: string;
}

/**
 * A principal's snapshot: an image committed from one of its runners (label io.devhatchery.kind=snapshot). It holds
 * the runner's filesystem without its mounts: /work (volume or tmpfs) and host binds are not in it.
 */
export interface RunnerSnapshot {
  snapshotId: string;
  principal: string;
  name: string | undefined;
  /** The local image reference to run: devhatchery-snapshot/<owner digest>:<snapshot id>. */
  image: string;
  sourceRunner: string;
  /** The image the source runner ran. */
  sourceImage: string;
  createdAt: string;
  /** The image's size on disk, including the base layers it shares with its source image. */
  sizeBytes: number;
}

/** The runtime role for snapshots: runners committed into images their owner can spawn from. */
export interface RunnerSnapshots {
  /**
   * Commits a runner's container (running or stopped; a running one is paused meanwhile) into a snapshot image
   * labelled with its owner, id, name and source; the agent's token is not kept in it.
   */
  commit(runnerId: string, spec: SnapshotSpec): Promise<RunnerSnapshot>;
  /** The principal's snapshots, newest first. */
  list(principal: string): Promise<RunnerSnapshot[]>;
  /** Every principal's snapshots, newest first (garbage collection). */
  listAll(): Promise<RunnerSnapshot[]>;
  find(principal: string, snapshotId: string): Promise<RunnerSnapshot | undefined>;
  /** Removes a snapshot image; NOT_FOUND when missing, FAILED_PRECONDITION naming the runners while a container (even a stopped one) uses it. */
  remove(principal: string, snapshotId: string): Promise<void>;
  /**
   * Bytes a snapshot image adds over the image its runner ran: the layer its commit made (the shared base layers are
   * not counted). `image` is the snapshot's image reference.
   */
  addedBytes(image: string): Promise<number>;
}
