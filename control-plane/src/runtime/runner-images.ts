/** What the control plane needs to know about a local image. */
export interface ImageInfo {
  /** Docker's name for the image's architecture, e.g. amd64 or arm64. */
  architecture: string;
  /** The label io.devhatchery.agent.version: set when the agent is baked into the image. */
  agentVersion: string | undefined;
}

/** A local image as the engine resolved a reference to it (by name or, for ids, by search). */
export interface LocalImage extends ImageInfo {
  /** The image id, "sha256:" and 64 hex digits. */
  id: string;
  /** Its names (RepoTags) as the engine lists them, e.g. "ubuntu:24.04". */
  tags: string[];
  /** Its registry digests (RepoDigests), e.g. "ubuntu@sha256:…"; empty for images never pulled or pushed. */
  digests: string[];
  labels: Record<string, string>;
  /** Labelled as another control plane's object (io.devhatchery.instance): a snapshot of another instance is never this one's. */
  otherInstance: boolean;
}

/** How far a pull has come. */
export interface PullProgress {
  status: string;
  /** 0..1 when the engine reports byte counts. */
  fraction: number | undefined;
  /** Bytes downloaded of the layers whose size the engine reported so far, and those sizes together. */
  bytes?: { current: number; total: number } | undefined;
  /** Layers of the image, and how many of them are local (pulled, or already there). */
  layers?: { done: number; total: number } | undefined;
}

/** The runtime role for images: what is local, and pulling what is not. */
export interface RunnerImages {
  /** The local image `reference` resolves to on the engine (never pulls); undefined when there is none. */
  inspect(reference: string): Promise<LocalImage | undefined>;
  /** Pulls `reference` from its registry; IMAGE_NOT_FOUND or IMAGE_PULL_FAILED when that fails. */
  pull(reference: string, onProgress?: (progress: PullProgress) => void): Promise<void>;
  /** Makes the image available locally, pulling it when missing. */
  ensure(image: string, onProgress?: (progress: PullProgress) => void): Promise<ImageInfo>;
}
