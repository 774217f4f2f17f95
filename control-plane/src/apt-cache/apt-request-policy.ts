import { isIP } from "node:net";

/** How the apt cache treats a request: cached for good, cached for a while, passed through, or refused (with why). */
export type AptRequestKind =
  | { kind: "immutable"; url: URL }
  | { kind: "index"; url: URL }
  | { kind: "pass"; url: URL }
  | { kind: "refused"; status: number; reason: string };

/** Package files: a path under pool/ names one version of one file, so its content never changes. */
const POOL_FILE = /\/pool\/.+\.(deb|udeb|ddeb|dsc|tar\.[a-z0-9]+|diff\.gz|buildinfo|changes)$/;
/** Index files fetched by hash (APT's Acquire-By-Hash): the name is the content's digest. */
const BY_HASH = /\/dists\/.+\/by-hash\/[A-Za-z0-9]+\/[0-9a-f]{32,128}$/;
/** Release and index files: they change when the archive does, so they are kept only for the index lifetime. */
const INDEX_FILE =
  /\/dists\/.+\/((In)?Release(\.gpg)?|(Packages|Sources|Translation-[A-Za-z_]+|Contents-[a-z0-9-]+|Components-[a-z0-9-]+\.yml|icons-[0-9x]+\.tar)(\.(gz|xz|bz2|lzma|zst))?)$/;

/**
 * Classifies a proxy request from a runner's apt. Only GET and HEAD of absolute http:// URLs into a Debian-style
 * repository (paths with /dists/ or /pool/) are served: the cache is for apt, not a general proxy. HTTPS repositories
 * never reach it (apt connects to them directly).
 */
export function classifyAptRequest(method: string | undefined, target: string | undefined): AptRequestKind {
  if (method !== "GET" && method !== "HEAD")
    return { kind: "refused", status: 405, reason: `method ${method ?? "?"} is not served by the apt cache` };
  let url: URL;
  try {
    url = new URL(target ?? "");
  } catch {
    return { kind: "refused", status: 400, reason: "the apt cache serves proxy requests (absolute http:// URLs) only" };
  }
  if (url.protocol !== "http:")
    return { kind: "refused", status: 400, reason: `${url.protocol} URLs are not served by the apt cache` };
  if (url.username || url.password)
    return { kind: "refused", status: 400, reason: "URLs with credentials are not served by the apt cache" };
  if (!/\/(dists|pool)\//.test(url.pathname))
    return {
      kind: "refused",
      status: 403,
      reason: "the apt cache serves Debian-style repositories only (paths with /dists/ or /pool/)",
    };
  if (url.pathname.split("/").includes(".."))
    return { kind: "refused", status: 400, reason: "paths with .. are not served by the apt cache" };
  if (POOL_FILE.test(url.pathname) || BY_HASH.test(url.pathname)) return { kind: "immutable", url };
  if (INDEX_FILE.test(url.pathname)) return { kind: "index", url };
  return { kind: "pass", url };
}

/**
 * Addresses the cache never connects to, whatever a repository URL names: the host's own loopback services (the
 * control plane, a Docker API on TCP), link-local ones (cloud metadata), unspecified and multicast addresses. A runner
 * could not reach those itself; through the cache, which runs on the host, it could.
 */
export function isForbiddenUpstream(address: string): boolean {
  const family = isIP(address);
  if (family === 4) {
    const [a, b] = address.split(".").map(Number) as [number, number];
    return a === 127 || a === 0 || (a === 169 && b === 254) || a >= 224;
  }
  if (family === 6) {
    const lower = address.toLowerCase();
    if (lower.startsWith("::ffff:")) return isForbiddenUpstream(lower.slice(7));
    return lower === "::1" || lower === "::" || /^fe[89ab]/.test(lower) || lower.startsWith("ff");
  }
  return true;
}
