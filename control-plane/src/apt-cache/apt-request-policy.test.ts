import { describe, expect, it } from "vitest";
import { classifyAptRequest, isForbiddenUpstream } from "./apt-request-policy.js";

const kind = (target: string, method = "GET"): string => {
  const result = classifyAptRequest(method, target);
  return result.kind === "refused" ? `refused ${result.status}` : result.kind;
};

describe("classifyAptRequest", () => {
  it("caches package files and by-hash indexes for good, release and package indexes for a while", () => {
    expect(kind("http://deb.debian.org/debian/pool/main/j/jq/jq_1.6-2.1_amd64.deb")).toBe("immutable");
    expect(kind("http://archive.ubuntu.com/ubuntu/pool/main/t/tree/tree_2.1.1-2_amd64.deb", "HEAD")).toBe("immutable");
    expect(kind(`http://deb.debian.org/debian/dists/bookworm/main/binary-amd64/by-hash/SHA256/${"a".repeat(64)}`)).toBe(
      "immutable",
    );
    expect(kind("http://deb.debian.org/debian/dists/bookworm/InRelease")).toBe("index");
    expect(kind("http://deb.debian.org/debian/dists/bookworm/main/binary-amd64/Packages.xz")).toBe("index");
    expect(kind("http://deb.debian.org/debian/dists/bookworm/main/i18n/Translation-en.bz2")).toBe("index");
    expect(kind("http://deb.debian.org/debian/dists/bookworm/main/Contents-amd64.gz")).toBe("index");
    expect(kind("http://deb.debian.org/debian/dists/bookworm/main/binary-amd64/Release.diff/Index")).toBe("pass");
  });

  it("refuses anything that is not a GET or HEAD into a Debian-style repository over http", () => {
    expect(kind("http://deb.debian.org/debian/pool/main/j/jq/jq.deb", "POST")).toBe("refused 405");
    expect(kind("/debian/pool/main/j/jq/jq.deb")).toBe("refused 400");
    expect(kind("https://deb.debian.org/debian/pool/main/j/jq/jq.deb")).toBe("refused 400");
    expect(kind("http://user:secret@deb.debian.org/debian/pool/main/j/jq/jq.deb")).toBe("refused 400");
    expect(kind("http://example.com/index.html")).toBe("refused 403");
    expect(kind("http://169.254.169.254/latest/meta-data/")).toBe("refused 403");
    expect(kind("http://deb.debian.org/debian/pool/../../etc/passwd")).toBe("refused 403");
  });
});

describe("isForbiddenUpstream", () => {
  it("refuses the host's own loopback, link-local (metadata), unspecified and multicast addresses", () => {
    for (const address of [
      "127.0.0.1",
      "127.1.2.3",
      "0.0.0.0",
      "169.254.169.254",
      "224.0.0.1",
      "::1",
      "::",
      "fe80::1",
      "ff02::1",
      "::ffff:127.0.0.1",
      "not-an-ip",
    ])
      expect(isForbiddenUpstream(address), address).toBe(true);
  });

  it("allows public and private repository addresses (a mirror on the LAN, the runner network's gateway)", () => {
    for (const address of ["151.101.2.132", "10.0.0.5", "172.30.0.1", "192.168.1.10", "2a04:4e42::644"])
      expect(isForbiddenUpstream(address), address).toBe(false);
  });
});
