import { describe, expect, it } from "vitest";
import { formatWarnings, hardeningWarnings, mountHolding, type HostHardeningFacts } from "./host-hardening-checks.js";

/** A host with / allowing setuid, /srv/safe mounted nosuid, a folder with a space, and /srv/stacked mounted twice. */
const MOUNTINFO = [
  "26 1 254:0 / / rw,relatime - ext4 /dev/vda rw",
  "40 26 254:1 / /srv/safe rw,nosuid,nodev,relatime - ext4 /dev/vdb rw",
  "41 40 254:1 /inner /srv/safe/inner rw,relatime - ext4 /dev/vdb rw",
  "42 26 254:2 / /srv/with\\040space rw,nosuid,relatime - xfs /dev/vdc rw",
  "43 26 254:3 / /srv/stacked rw,relatime - ext4 /dev/vdd rw",
  "44 26 254:4 / /srv/stacked rw,nosuid,relatime - ext4 /dev/vde rw",
  "",
].join("\n");

const HARDENED: HostHardeningFacts = {
  mountinfo: MOUNTINFO,
  securityOptions: ["name=seccomp,profile=default", "name=userns"],
  inotifyInstances: 8192,
  inotifyWatches: 1_048_576,
};
const identity = (path: string): string => path;
const root = (alias: string, hostPath: string, allowRw = true) => ({ alias, hostPath, allowRw });

describe("host hardening warnings of devhatchery validate", () => {
  it("finds the mount holding a folder: the longest mount point, the last of stacked ones, octal escapes decoded", () => {
    expect(mountHolding("/srv/safe/data", MOUNTINFO)).toEqual({
      mountPoint: "/srv/safe",
      options: ["rw", "nosuid", "nodev", "relatime"],
    });
    expect(mountHolding("/srv/safe/inner/x", MOUNTINFO)?.mountPoint).toBe("/srv/safe/inner");
    expect(mountHolding("/srv/safer", MOUNTINFO)?.mountPoint).toBe("/");
    expect(mountHolding("/srv/with space/a", MOUNTINFO)?.options).toContain("nosuid");
    expect(mountHolding("/srv/stacked/a", MOUNTINFO)?.options).toContain("nosuid");
  });

  it("says nothing on a hardened host, or for read-only roots", () => {
    expect(
      hardeningWarnings(
        [root("safe", "/srv/safe/data"), root("ro", "/home/me/src", false), root("space", "/srv/with space")],
        HARDENED,
        identity,
      ),
    ).toEqual([]);
  });

  it("warns about an rw root on a mount without nosuid, naming the mount and the fix", () => {
    expect(
      hardeningWarnings([root("safe", "/srv/safe/data"), root("inner", "/srv/safe/inner/x")], HARDENED, identity),
    ).toEqual([
      {
        where: "allowed_roots[1].path",
        message:
          'the rw root "/srv/safe/inner/x" (alias "inner") is on the mount "/srv/safe/inner", which allows setuid: a runner can leave a setuid-root program there ' +
          "that a host user could run as root (Docker cannot bind with nosuid). Put rw roots on a filesystem mounted with nosuid,nodev (fstab options, or " +
          "`mount -o remount,nosuid,nodev /srv/safe/inner`; a bind mount of the folder onto itself with those options works too).",
      },
    ]);
  });

  it("checks the folder a root's symlinks lead to", () => {
    const warnings = hardeningWarnings([root("link", "/srv/safe/link-to-root")], HARDENED, () => "/home/me/work");
    expect(warnings).toHaveLength(1);
    expect(warnings[0]?.message).toMatch(
      /^the rw root "\/srv\/safe\/link-to-root" \(alias "link"\) is on the mount "\/", which allows setuid: /,
    );
  });

  it("warns when the engine does not remap user namespaces (rootless counts as remapped)", () => {
    expect(hardeningWarnings([], { ...HARDENED, securityOptions: ["name=seccomp,profile=default"] }, identity)).toEqual(
      [
        {
          where: "docker",
          message:
            'the engine does not remap user namespaces (its security options have no "name=userns"): root in a runner is root on the host for files written to rw ' +
            'mounts and after any container escape. Set "userns-remap": "default" in /etc/docker/daemon.json and restart dockerd (images and volumes made before ' +
            "are not visible under the remapped root; pull or build them again).",
        },
      ],
    );
    expect(
      hardeningWarnings(
        [],
        { ...HARDENED, securityOptions: ["name=seccomp,profile=default", "name=rootless"] },
        identity,
      ),
    ).toEqual([]);
  });

  it.each([
    [128, 8192],
    [128, 1_048_576],
    [8192, 192_543],
  ])("warns about inotify limits %i / %i with the sysctl that raises them", (instances, watches) => {
    expect(
      hardeningWarnings([], { ...HARDENED, inotifyInstances: instances, inotifyWatches: watches }, identity),
    ).toEqual([
      {
        where: "fs.inotify",
        message:
          `max_user_instances is ${instances} and max_user_watches is ${watches} (at least 1024 and 524288 are advised): every runner's file watches count ` +
          "against one per-user limit of the host, so one tenant can use it up for all. Raise them with " +
          "`sysctl -w fs.inotify.max_user_instances=8192 fs.inotify.max_user_watches=1048576` and keep them in /etc/sysctl.d/90-devhatchery.conf.",
      },
    ]);
  });

  it("says nothing it cannot know: no mountinfo, no engine answer, no /proc/sys", () => {
    expect(
      hardeningWarnings(
        [root("data", "/srv/data")],
        { mountinfo: undefined, securityOptions: undefined, inotifyInstances: undefined, inotifyWatches: undefined },
        identity,
      ),
    ).toEqual([]);
  });

  it("prints the warnings under one heading", () => {
    expect(
      formatWarnings([
        { where: "docker", message: "m1" },
        { where: "fs.inotify", message: "m2" },
      ]),
    ).toBe(
      '2 hardening warnings (the configuration is valid; see docs/security.md, "Host hardening"):\n  ! docker: m1\n  ! fs.inotify: m2\n',
    );
  });
});
