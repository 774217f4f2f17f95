import { describe, expect, it } from "vitest";
import { compareMount, deviceNumbers, folderInFilesystem, mountAt, parseMountTable } from "./mount-table.js";

/** A host's table: ext4 root, a tmpfs, an xfs volume with a second mount stacked on /srv/data, a path with a space. */
const HOST_TABLE = [
  "22 1 254:0 / / rw,relatime shared:1 - ext4 /dev/vda rw,discard",
  "30 22 0:27 / /tmp rw,nosuid,nodev shared:5 - tmpfs tmpfs rw,size=4096k",
  "41 22 259:3 /exports /srv/data rw,relatime shared:9 - xfs /dev/nvme0n1p3 rw,attr2",
  "42 41 259:3 /other /srv/data rw,relatime shared:9 - xfs /dev/nvme0n1p3 rw,attr2",
  "43 22 0:45 / /srv/my\\040files rw,relatime shared:12 - ext4 /dev/sdb1 rw",
  "44 22 0:52 /@home /home rw,relatime shared:14 - btrfs /dev/sdc2 rw,subvol=/@home",
  "",
].join("\n");

/** A runner's table as the host reads /proc/<pid>/mountinfo: mount points relative to the container's root. */
const RUNNER_TABLE = [
  "182 66 0:41 / / rw,relatime master:4 - overlay overlay rw,lowerdir=/var/lib/docker/overlay2/l/2ORX:/var/lib/docker/overlay2/l/BU4G",
  "195 182 0:60 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw",
  "239 182 254:0 /usr/bin/tini-static /usr/sbin/docker-init ro,relatime - ext4 /dev/vda rw,discard",
  "240 182 259:3 /other/reports/2024 /export/reports ro,relatime - xfs /dev/nvme0n1p3 rw,attr2",
  "241 182 0:45 /a\\040b\\011c /export/my\\040files rw,relatime - ext4 /dev/sdb1 rw",
  "242 182 254:0 / /export/shared rw,relatime - ext4 /dev/vda rw,discard",
  "243 182 254:0 /srv/old /export/stacked rw,relatime - ext4 /dev/vda rw,discard",
  "244 243 254:0 /srv/new /export/stacked rw,relatime - ext4 /dev/vda rw,discard",
  "",
].join("\n");

describe("mount tables (/proc/<pid>/mountinfo)", () => {
  it("parses device, root, mount point and type, decoding the kernel's octal escapes", () => {
    const table = parseMountTable(RUNNER_TABLE);
    expect(table).toHaveLength(8);
    expect(table[0]).toEqual({ device: "0:41", root: "/", mountPoint: "/", fsType: "overlay" });
    expect(table[4]).toEqual({ device: "0:45", root: "/a b\tc", mountPoint: "/export/my files", fsType: "ext4" });
    expect(parseMountTable("garbage\n\n1 2 3")).toEqual([]);
  });

  it("finds the visible mount at a mount point: the last of stacked ones, nothing for a path below one", () => {
    const table = parseMountTable(RUNNER_TABLE);
    expect(mountAt(table, "/export/stacked")?.root).toBe("/srv/new");
    expect(mountAt(table, "/export/reports")).toMatchObject({ device: "259:3", root: "/other/reports/2024" });
    expect(mountAt(table, "/export/reports/2024")).toBeUndefined();
    expect(mountAt(table, "/export")).toBeUndefined();
  });

  it("places a host folder inside its filesystem through the longest (topmost) host mount holding it", () => {
    const table = parseMountTable(HOST_TABLE);
    expect(folderInFilesystem(table, "/srv/data/reports/2024")).toEqual({
      device: "259:3",
      root: "/other/reports/2024",
      fsType: "xfs",
    });
    expect(folderInFilesystem(table, "/srv/data")).toEqual({ device: "259:3", root: "/other", fsType: "xfs" });
    expect(folderInFilesystem(table, "/srv/database/x")).toEqual({
      device: "254:0",
      root: "/srv/database/x",
      fsType: "ext4",
    });
    expect(folderInFilesystem(table, "/srv/my files/a b\tc")).toEqual({
      device: "0:45",
      root: "/a b\tc",
      fsType: "ext4",
    });
    expect(folderInFilesystem(table, "/srv/my files")).toEqual({ device: "0:45", root: "/", fsType: "ext4" });
    expect(folderInFilesystem(table, "/home/ana/src")).toEqual({
      device: "0:52",
      root: "/@home/ana/src",
      fsType: "btrfs",
    });
    expect(folderInFilesystem(table, "/")).toEqual({ device: "254:0", root: "/", fsType: "ext4" });
    expect(folderInFilesystem([], "/srv")).toBeUndefined();
  });

  it("splits st_dev into major:minor as glibc does, including minors above 255", () => {
    expect(deviceNumbers(65024n)).toBe("254:0");
    expect(deviceNumbers(66307n)).toBe("259:3");
    expect(deviceNumbers(4194514n)).toBe("0:1234");
    // glibc makedev(0x1005, 7): the high bits of the major sit above bit 32.
    expect(deviceNumbers((0x1000n << 32n) | (0x5n << 8n) | 0x7n)).toBe(`${0x1005}:7`);
  });
});

describe("comparing a runner's mount with the checked folder", () => {
  const tables = { runner: parseMountTable(RUNNER_TABLE), own: parseMountTable(HOST_TABLE) };
  const xfs = 66307n;
  const ext4 = 65024n;

  it("accepts a bind of a subfolder (through stacked host mounts) and one with escaped names", () => {
    expect(compareMount(tables, "/export/reports", "/srv/data/reports/2024", xfs)).toBeUndefined();
    expect(compareMount(tables, "/export/my files", "/srv/my files/a b\tc", 45n)).toBeUndefined();
  });

  it("refuses a target that got the host's root, or another folder of the same filesystem", () => {
    expect(compareMount(tables, "/export/shared", "/home2/ana/shared/sub", ext4)).toEqual({
      kind: "other-folder",
      mounted: { device: "254:0", root: "/", mountPoint: "/export/shared", fsType: "ext4" },
      expected: { device: "254:0", root: "/home2/ana/shared/sub", fsType: "ext4" },
    });
    expect(compareMount(tables, "/export/stacked", "/srv/old", ext4)).toMatchObject({
      kind: "other-folder",
      mounted: { root: "/srv/new" },
    });
    expect(compareMount(tables, "/export/stacked", "/srv/new", ext4)).toBeUndefined();
  });

  it("refuses a folder with the same path on another filesystem", () => {
    expect(compareMount(tables, "/export/shared", "/tmp", ext4)).toMatchObject({
      kind: "not-on-checked-device",
      device: "254:0",
      holder: { device: "0:27", root: "/" },
    });
    expect(
      compareMount(
        { ...tables, own: parseMountTable("22 1 254:1 / / rw - ext4 /dev/vdb rw") },
        "/export/shared",
        "/",
        65025n,
      ),
    ).toMatchObject({
      kind: "other-folder",
    });
  });

  it("refuses when nothing is mounted at the target (the mount went elsewhere through a symlink on its path)", () => {
    expect(compareMount(tables, "/export/elsewhere", "/srv/data", xfs)).toEqual({ kind: "not-mounted" });
  });

  it("takes the mount table's device on btrfs, where stat reports the subvolume's", () => {
    const runner = parseMountTable("240 182 0:52 /@home/ana/src /export/src rw - btrfs /dev/sdc2 rw");
    expect(compareMount({ runner, own: tables.own }, "/export/src", "/home/ana/src", 4194400n)).toBeUndefined();
  });
});
