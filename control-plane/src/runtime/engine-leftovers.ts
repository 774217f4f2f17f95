/** An agent volume (one per agent version, content digest and architecture) and what mounts it. */
export interface AgentVolumeInfo {
  name: string;
  version: string;
  digest: string;
  arch: string;
  /** ISO 8601, as the engine reports it. */
  createdAt: string;
  /** Runner ids (or container names) of every container, running or not, that mounts it. */
  usedBy: string[];
}

/** A never-started helper container (an agent volume's filler or lock, a workspace ownership helper). */
export interface HelperContainer {
  id: string;
  name: string;
  kind: "agent-helper" | "workspace-helper";
  /** ISO 8601. */
  createdAt: string;
}

/** What happened to an image garbage collection tried to remove. */
export type ImageRemoval = "removed" | "in_use" | "missing";

/**
 * The runtime role for what DevHatchery leaves on the engine besides runners, workspaces and snapshots: agent
 * volumes, helper containers and pulled images. Garbage collection lists and removes them.
 */
export interface EngineLeftovers {
  /** The agent volume content this control plane delivers now (its version and digest). */
  currentAgent(): Promise<{ version: string; digest: string }>;
  agentVolumes(): Promise<AgentVolumeInfo[]>;
  /** Removes an agent volume; FAILED_PRECONDITION when a container (even a stopped one) mounts it. */
  removeAgentVolume(name: string): Promise<void>;
  helperContainers(): Promise<HelperContainer[]>;
  removeHelper(id: string): Promise<void>;
  /** Removes an image by reference (never forced): "in_use" when a container still uses it. */
  removeImage(reference: string): Promise<ImageRemoval>;
  /** The images (references and ids) that containers use, running or not. */
  imagesInUse(): Promise<Set<string>>;
}
