/** Docker labels on everything DevHatchery creates; Docker is the source of truth for what exists. */
export const LABEL = {
  managed: "io.devhatchery.managed",
  kind: "io.devhatchery.kind",
  owner: "io.devhatchery.owner",
  runner: "io.devhatchery.runner",
  created: "io.devhatchery.created",
  image: "io.devhatchery.image",
} as const;

export const KIND = {
  runner: "runner",
  network: "network",
} as const;
