/**
 * Whether the operator's image patterns (images.allowed) admit `image`: "*" matches any run of characters, anything
 * else matches itself, and the reference is compared as written (`ubuntu:24.04` is not `docker.io/library/ubuntu:24.04`).
 * No patterns admit every image.
 */
export function isImageAllowed(image: string, patterns: readonly string[]): boolean {
  if (patterns.length === 0) return true;
  return patterns.some((pattern) => new RegExp(`^${pattern.split("*").map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`).test(image));
}
