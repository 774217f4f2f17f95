/** Docker labels on everything DevHatchery creates; Docker is the source of truth for what exists. */
export const LABEL = {
  managed: "io.devhatchery.managed",
  /** On runners, workspace volumes, networks, snapshots and workspace helpers: the control plane instance that made them. */
  instance: "io.devhatchery.instance",
  kind: "io.devhatchery.kind",
  owner: "io.devhatchery.owner",
  runner: "io.devhatchery.runner",
  created: "io.devhatchery.created",
  image: "io.devhatchery.image",
  /** On runners: the registry digest of their image, when images.allowed demanded one (digest pinning). */
  imageDigest: "io.devhatchery.image.digest",
  /** On runners and workspace volumes: the workspace key. */
  workspace: "io.devhatchery.workspace",
  /** On runners: the caller's alias. */
  alias: "io.devhatchery.alias",
  /** On runners: "volume" or "tmpfs". */
  storage: "io.devhatchery.storage",
  /** On runners: "true" when created with the hardened profile. */
  hardened: "io.devhatchery.hardened",
  /** On runners: JSON of each host bind's check by target ({"/export/a": {alias, subpath, identity}}), see BindCheck. */
  bindChecks: "io.devhatchery.bind-checks",
  /** On runners: "false" when created without outbound network. */
  network: "io.devhatchery.network",
  /** On images with the agent baked in (and on agent volumes): the agent's version. */
  agentVersion: "io.devhatchery.agent.version",
  /**
   * On images with the agent baked in: "stdin" when that agent reads its token from stdin. Without it (images baked
   * with an older agent) the token has to go in the container's Env.
   */
  agentToken: "io.devhatchery.agent.token",
  /** On agent volumes: the digest of their content (agent bundle and Node version). */
  agentDigest: "io.devhatchery.agent.digest",
  /** On agent volumes: the Node architecture they hold (x64, arm64). */
  agentArch: "io.devhatchery.agent.arch",
  /** On helper containers: the agent volume they serve. */
  agentVolume: "io.devhatchery.agent.volume",
  /** On snapshot images: the snapshot id (`s-` and 12 hex digits); runners spawned from one inherit it. */
  snapshot: "io.devhatchery.snapshot",
  /** On snapshot images: the owner's name for it, when given. */
  snapshotName: "io.devhatchery.snapshot.name",
  /** On snapshot images: the runner they were committed from. */
  sourceRunner: "io.devhatchery.snapshot.source-runner",
  /** On snapshot images: the image that runner ran. */
  sourceImage: "io.devhatchery.snapshot.source-image",
} as const;

export const KIND = {
  runner: "runner",
  network: "network",
  agent: "agent",
  /** A principal's persistent /work. */
  workspace: "workspace",
  /** Never-started containers that lock, inspect or fill an agent volume. */
  agentHelper: "agent-helper",
  /** Short-lived containers that prepare a workspace volume's ownership for a hardened runner. */
  workspaceHelper: "workspace-helper",
  /** An image committed from a runner. */
  snapshot: "snapshot",
} as const;
