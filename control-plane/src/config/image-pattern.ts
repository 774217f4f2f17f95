import { familiarRepository, parseImageReference, referenceForms } from "./image-reference.js";

/** Marks a pattern that pins a registry digest, e.g. "ubuntu@sha256:…". */
export const DIGEST_MARK = "@sha256:";

/**
 * Whether the operator's image patterns (images.allowed) admit `image`: "*" matches any run of characters, anything
 * else matches itself, and `image` is compared as given. No patterns admit every image.
 */
export function isImageAllowed(image: string, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return true;
  return patterns.some((pattern) =>
    new RegExp(
      `^${pattern
        .split("*")
        .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
        .join(".*")}$`,
    ).test(image),
  );
}

/**
 * How images.allowed admits a named reference, compared as written, familiar ("ubuntu:24.04") and fully qualified
 * ("docker.io/library/ubuntu:24.04"): "name" by a pattern without a digest, "digest" when only a digest pattern of its
 * repository can (the image's registry digest must then match it), "denied" otherwise. No patterns admit by name.
 */
export function imageAdmission(reference: string, patterns: readonly string[]): "name" | "digest" | "denied" {
  if (patterns.length === 0) return "name";
  const parsed = parseImageReference(reference);
  if (parsed?.kind !== "name") return isImageAllowed(reference, patterns) ? "name" : "denied";
  const forms = referenceForms(reference, parsed);
  if (
    patterns.some((pattern) => !pattern.includes(DIGEST_MARK) && forms.some((form) => isImageAllowed(form, [pattern])))
  )
    return "name";
  const repositories = [familiarRepository(parsed), parsed.repository];
  const byDigest = patterns.some(
    (pattern) =>
      pattern.includes(DIGEST_MARK) &&
      repositories.some((repository) => isImageAllowed(repository, [pattern.slice(0, pattern.indexOf(DIGEST_MARK))])),
  );
  return byDigest ? "digest" : "denied";
}
