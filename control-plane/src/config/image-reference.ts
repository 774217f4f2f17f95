/** Docker Hub's registry name: references without a registry host name an image there. */
export const DOCKER_HUB = "docker.io";

/** A reference the engine would read as an image id (a prefix of one is enough): hex digits, or `sha256:` and hex. */
const ID_REFERENCE = /^(sha256:)?[0-9a-f]{1,64}$/i;
const NAME_GRAMMAR = /^[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*$/;
const TAG_GRAMMAR = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST_GRAMMAR = /^sha256:[0-9a-f]{64}$/;

/** An image named by repository (and tag or digest), read the way the Docker engine reads it. */
export interface NamedImageReference {
  kind: "name";
  /** The registry host (and port), e.g. "docker.io" or "127.0.0.1:5000". */
  registry: string;
  /** The repository path inside the registry, e.g. "library/ubuntu". */
  path: string;
  /** "latest" when neither a tag nor a digest was given. */
  tag: string | undefined;
  digest: string | undefined;
  /** registry/path, e.g. "docker.io/library/ubuntu". */
  repository: string;
  /** What the engine looks up: repository@digest when a digest is given, else repository:tag. */
  canonical: string;
}

/** An image id or a prefix of one: the engine searches every local image for it. */
export interface IdImageReference {
  kind: "id";
  value: string;
}

export type ImageReference = NamedImageReference | IdImageReference;

/** Reads an image reference like the engine: undefined when it is not one. Hex-only references are ids. */
export function parseImageReference(reference: string): ImageReference | undefined {
  if (ID_REFERENCE.test(reference)) return { kind: "id", value: reference.toLowerCase() };
  const at = reference.indexOf("@");
  const digest = at === -1 ? undefined : reference.slice(at + 1);
  if (digest !== undefined && !DIGEST_GRAMMAR.test(digest)) return undefined;
  let name = at === -1 ? reference : reference.slice(0, at);
  let tag: string | undefined;
  const colon = name.lastIndexOf(":");
  if (colon > name.lastIndexOf("/")) {
    tag = name.slice(colon + 1);
    name = name.slice(0, colon);
    if (!TAG_GRAMMAR.test(tag)) return undefined;
  }
  const slash = name.indexOf("/");
  const first = slash === -1 ? "" : name.slice(0, slash);
  const hasRegistry = slash !== -1 && (/[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first);
  let registry = hasRegistry ? first : DOCKER_HUB;
  let path = hasRegistry ? name.slice(slash + 1) : name;
  if (registry === "index.docker.io") registry = DOCKER_HUB;
  if (registry === DOCKER_HUB && !path.includes("/")) path = `library/${path}`;
  if (
    !/^[a-zA-Z0-9.-]+(:[0-9]+)?$/.test(registry) ||
    !path.split("/").every((component) => NAME_GRAMMAR.test(component))
  )
    return undefined;
  if (tag === undefined && digest === undefined) tag = "latest";
  const repository = `${registry}/${path}`;
  return {
    kind: "name",
    registry,
    path,
    tag,
    digest,
    repository,
    canonical: digest ? `${repository}@${digest}` : `${repository}:${tag}`,
  };
}

/** The forms an operator's pattern may name an image by: as written, familiar ("ubuntu:24.04") and fully qualified. */
export function referenceForms(written: string, reference: NamedImageReference): string[] {
  const suffix = reference.digest ? `@${reference.digest}` : `:${reference.tag}`;
  return [...new Set([written, `${familiarRepository(reference)}${suffix}`, reference.canonical])];
}

/** "ubuntu" for docker.io/library/ubuntu, "alice/tools" for docker.io/alice/tools, other registries as they are. */
export function familiarRepository(reference: NamedImageReference): string {
  if (reference.registry !== DOCKER_HUB) return reference.repository;
  return reference.path.startsWith("library/") && reference.path.split("/").length === 2
    ? reference.path.slice("library/".length)
    : reference.path;
}

/** The registry a reference would be pulled from; undefined for an id or something that is no reference. */
export function registryOf(reference: string): string | undefined {
  const parsed = parseImageReference(reference);
  return parsed?.kind === "name" ? parsed.registry : undefined;
}
