import { randomBytes } from "node:crypto";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { docker } from "../../../test/docker-cleanup.js";
import { follow, LocalRegistry, pushRandomImage } from "../../../test/local-registry.js";
import { DEBIAN_IMAGE } from "../../../test/runtime-fixture.js";
import { createLogger } from "../../log.js";
import { DockerRuntime } from "../../runtime/docker-runtime.js";
import { snapshotImageRef } from "../../runtime/docker-snapshots.js";
import { ImageGate, type ImagePolicy } from "./image-gate.js";
import { prepullImages } from "./image-prepull.js";

const log = createLogger("silent");
const runtime = new DockerRuntime(log, undefined, { bundlePath: "/nonexistent/agent.cjs", cacheDir: tmpdir() });
const noProgress = (): void => {};

function gate(policy: Partial<ImagePolicy>): ImageGate {
  return new ImageGate(runtime, {
    defaultImage: DEBIAN_IMAGE,
    allowed: [],
    pull: "missing",
    registries: undefined,
    allowIdReferences: false,
    ...policy,
  });
}

describe("image pulls follow images.pull and images.registries; digest patterns pin", () => {
  const suffix = randomBytes(4).toString("hex");
  let dir: string;
  let registry: LocalRegistry;
  const images: string[] = [];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "devhatchery-image-gate-"));
    registry = new LocalRegistry(dir, "registry");
    await registry.start(false);
  });
  afterAll(async () => {
    registry?.stop();
    for (const image of images.reverse())
      await docker
        .getImage(image)
        .remove({ force: true })
        .catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });

  it('pull "never": a missing image is refused at once, with the setting named', async () => {
    const image = `${registry.address}/devhatchery-test/never-${suffix}:1`;
    images.push(await pushRandomImage(dir, image, registry.address));
    await docker.getImage(image).remove({ force: true });
    const never = gate({ pull: "never" });
    const expected = {
      code: "IMAGE_NOT_FOUND",
      message:
        `Image "${image}" not found: no image of that name on the Docker host is available to this principal, and this server does not pull images (images.pull is "never"). ` +
        `Name an image by repository and tag (image ids are not accepted), e.g. "${DEBIAN_IMAGE}", or pass one of your snapshots (snapshot_list) as snapshot.`,
    };
    await expect(never.choose("alice", image)).rejects.toMatchObject(expected);
    await expect(
      never.prepare("alice", { image, ownSnapshot: false, pinned: false }, noProgress),
    ).rejects.toMatchObject(expected);
    // Nor does the background prepull fetch it.
    await prepullImages(runtime, [image], log, "never").done;
    expect(await runtime.images.inspect(image)).toBeUndefined();
    // With "missing" the same image is pulled.
    const missing = gate({ pull: "missing" });
    const choice = await missing.choose("alice", image);
    expect((await missing.prepare("alice", choice, noProgress)).id).toBe((await runtime.images.inspect(image))?.id);
  });

  it("refuses a registry images.registries does not list before anything connects to it", async () => {
    let connections = 0;
    const trap: Server = createServer((socket) => {
      connections += 1;
      socket.destroy();
    });
    await new Promise<void>((resolve) => trap.listen(0, "127.0.0.1", resolve));
    try {
      const host = `127.0.0.1:${(trap.address() as { port: number }).port}`;
      const image = `${host}/devhatchery-test/anything:1`;
      const listed = gate({ registries: ["docker.io", registry.address] });
      const expected = {
        code: "POLICY_DENIED",
        message:
          `image "${image}" names registry "${host}", which this server does not take images from (images.registries: "docker.io", "${registry.address}"); ` +
          `use an image from one of those, or ask the operator to add "${host}" to images.registries (DEVHATCHERY_IMAGE_REGISTRIES).`,
      };
      await expect(listed.choose("alice", image)).rejects.toMatchObject(expected);
      await expect(
        listed.prepare("alice", { image, ownSnapshot: false, pinned: false }, noProgress),
      ).rejects.toMatchObject(expected);
      expect(connections).toBe(0);
    } finally {
      await new Promise((resolve) => trap.close(resolve));
    }
  });

  it('"always" pulls a tag that moved on the registry; "missing" keeps the local image', async () => {
    const image = `${registry.address}/devhatchery-test/moving-${suffix}:1`;
    const first = await pushRandomImage(dir, image, registry.address);
    const second = await pushRandomImage(dir, image, registry.address);
    images.push(first, second);
    // The local tag goes back to the first image; the registry has the second under it.
    const [repo, tag] = [image.slice(0, image.lastIndexOf(":")), "1"];
    await docker.getImage(first).tag({ repo, tag });
    const missing = gate({ pull: "missing" });
    expect((await missing.prepare("alice", await missing.choose("alice", image), noProgress)).id).toBe(first);
    const always = gate({ pull: "always" });
    expect((await always.prepare("alice", await always.choose("alice", image), noProgress)).id).toBe(second);
    // The prepull follows the policy too: "missing" leaves the present image alone, "always" fetches the moved tag.
    await docker.getImage(first).tag({ repo, tag });
    await prepullImages(runtime, [image], log, "missing").done;
    expect((await runtime.images.inspect(image))?.id).toBe(first);
    await prepullImages(runtime, [image], log, "always").done;
    expect((await runtime.images.inspect(image))?.id).toBe(second);
  });

  it("a digest pattern admits a tag only while it resolves to that digest, and records the digest", async () => {
    const image = `${registry.address}/devhatchery-test/pinned-${suffix}:1`;
    images.push(await pushRandomImage(dir, image, registry.address));
    const digest = (await docker.getImage(image).inspect()).RepoDigests?.[0]?.split("@")[1] ?? "";
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const pinned = gate({ pull: "always", allowed: [`${image.slice(0, image.lastIndexOf(":"))}@${digest}`] });
    const choice = await pinned.choose("alice", image);
    expect(choice).toEqual({
      image,
      ownSnapshot: false,
      pinned: true,
      pinPatterns: [{ policy: "server", patterns: [`${image.slice(0, image.lastIndexOf(":"))}@${digest}`] }],
    });
    expect(await pinned.prepare("alice", choice, noProgress)).toMatchObject({ digest });
    // An image of another repository matches no pattern at all.
    await expect(pinned.choose("alice", DEBIAN_IMAGE)).rejects.toMatchObject({
      code: "POLICY_DENIED",
      message: expect.stringMatching(/^image "devhatchery-test\/debian:bookworm" is not allowed on this server/),
    });

    // The tag moves on the registry: the pinned pattern no longer admits it.
    images.push(await pushRandomImage(dir, image, registry.address));
    const moved = (await docker.getImage(image).inspect()).RepoDigests?.find((name) => !name.endsWith(digest))?.split(
      "@",
    )[1];
    await expect(pinned.prepare("alice", choice, noProgress)).rejects.toMatchObject({
      code: "POLICY_DENIED",
      message: `image "${image}" has digest "${moved}", which images.allowed does not admit ("${image.slice(0, image.lastIndexOf(":"))}@${digest}"); use the image by an allowed digest, or ask the operator to update images.allowed.`,
    });
  });

  it("a caller's policy narrows images, pulls and pins, and every refusal names that policy", async () => {
    const repository = `${registry.address}/devhatchery-test/caller-${suffix}`;
    const image = `${repository}:1`;
    images.push(await pushRandomImage(dir, image, registry.address));
    const digest = (await docker.getImage(image).inspect()).RepoDigests?.[0]?.split("@")[1] ?? "";
    await docker.getImage(image).remove({ force: true });
    const open = gate({ pull: "missing" });
    await expect(open.choose("alice", image, { policy: "frozen", pull: "never" })).rejects.toMatchObject({
      code: "IMAGE_NOT_FOUND",
      message: expect.stringContaining(', and policy "frozen" (rule pull) does not let you pull images.'),
    });
    await expect(open.choose("alice", image, { policy: "debian-only", images: [DEBIAN_IMAGE] })).rejects.toMatchObject({
      code: "POLICY_DENIED",
      policy: "debian-only",
      message: expect.stringMatching(/^policy "debian-only" \(rule images\) does not allow image /),
    });
    // The policy pins a digest the tag does not resolve to once it moved: refused after the pull, naming the policy.
    const rules = { policy: "pinned", images: [`${repository}@${digest}`] };
    const choice = await open.choose("alice", image, rules);
    expect(choice).toMatchObject({ pinned: true, pinPatterns: [{ policy: "pinned", patterns: rules.images }] });
    expect(await open.prepare("alice", choice, noProgress)).toMatchObject({ digest });
    await docker.getImage(image).remove({ force: true });
    images.push(await pushRandomImage(dir, image, registry.address));
    await docker.getImage(image).remove({ force: true });
    await expect(open.prepare("alice", choice, noProgress)).rejects.toMatchObject({
      code: "POLICY_DENIED",
      policy: "pinned",
      message: expect.stringContaining(
        `which policy "pinned" (rule images) does not admit ("${repository}@${digest}")`,
      ),
    });
  });
});

describe("id references, when the operator allows them, never reach another principal's snapshot", () => {
  const suffix = randomBytes(4).toString("hex");
  const tag = `devhatchery-test/fake-snapshot-${suffix}:1`;
  const alice = `alice-${suffix}`;
  const snapshotId = "s-0123456789ab";
  let id = "";
  let debianId = "";

  beforeAll(async () => {
    const dir = await mkdtemp(join(tmpdir(), "devhatchery-fake-snapshot-"));
    try {
      await writeFile(
        join(dir, "Dockerfile"),
        `FROM ${DEBIAN_IMAGE}\nLABEL io.devhatchery.kind=snapshot io.devhatchery.owner=${alice} io.devhatchery.snapshot=${snapshotId} io.devhatchery.instance=default\n`,
      );
      await follow(await docker.buildImage({ context: dir, src: ["Dockerfile"] }, { t: tag }));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    id = (await docker.getImage(tag).inspect()).Id;
    debianId = (await docker.getImage(DEBIAN_IMAGE).inspect()).Id;
  });
  afterAll(async () => {
    await docker
      .getImage(id)
      .remove({ force: true })
      .catch(() => undefined);
  });

  it("refuses ids by default, and another principal's snapshot by any reference, with the not-found text", async () => {
    const byDefault = gate({});
    const withIds = gate({ allowIdReferences: true });
    const prefix = id.slice("sha256:".length, "sha256:".length + 12);
    for (const reference of [prefix, id]) {
      await expect(byDefault.choose(alice, reference)).rejects.toEqual(byDefault.notFound(reference));
      await expect(withIds.choose("bob", reference)).rejects.toEqual(withIds.notFound(reference));
    }
    // A name the operator gave it does not make it bob's either. alice may run it by id, but as an ordinary image:
    // labels alone (anyone can write them into an image) do not make it one of her snapshots, which images.allowed spares.
    await expect(withIds.choose("bob", tag)).rejects.toEqual(withIds.notFound(tag));
    expect(await withIds.choose(alice, prefix)).toEqual({ image: id, ownSnapshot: false, pinned: false });
    const allowlisted = gate({ allowIdReferences: true, allowed: ["ubuntu:*"] });
    await expect(allowlisted.choose(alice, prefix)).rejects.toMatchObject({ code: "POLICY_DENIED" });
    // Tagged in alice's snapshot repository, it is her snapshot: runnable by id, whatever images.allowed says.
    const [repo, snapshotTag] = snapshotImageRef(alice, snapshotId).split(":") as [string, string];
    await docker.getImage(id).tag({ repo, tag: snapshotTag });
    expect(await allowlisted.choose(alice, prefix)).toEqual({ image: id, ownSnapshot: true, pinned: false });
    await expect(allowlisted.choose("bob", prefix)).rejects.toEqual(allowlisted.notFound(prefix));
    expect(withIds.notFound("x").message).not.toContain("image ids are not accepted");
  });

  it("refuses a snapshot of another control plane on the engine, even of a principal with the same name", async () => {
    const dir = await mkdtemp(join(tmpdir(), "devhatchery-fake-snapshot-"));
    const elsewhereTag = `devhatchery-test/fake-snapshot-elsewhere-${suffix}:1`;
    try {
      await writeFile(
        join(dir, "Dockerfile"),
        `FROM ${DEBIAN_IMAGE}\nLABEL io.devhatchery.kind=snapshot io.devhatchery.owner=${alice} io.devhatchery.snapshot=s-0000000000ee io.devhatchery.instance=elsewhere-${suffix}\n`,
      );
      await follow(await docker.buildImage({ context: dir, src: ["Dockerfile"] }, { t: elsewhereTag }));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
    const elsewhereId = (await docker.getImage(elsewhereTag).inspect()).Id;
    try {
      const withIds = gate({ allowIdReferences: true });
      for (const reference of [elsewhereId, elsewhereId.slice("sha256:".length, "sha256:".length + 12), elsewhereTag]) {
        await expect(withIds.choose(alice, reference), reference).rejects.toEqual(withIds.notFound(reference));
      }
    } finally {
      await docker
        .getImage(elsewhereId)
        .remove({ force: true })
        .catch(() => undefined);
    }
  });

  it("applies images.allowed to the names of the image an id resolves to", async () => {
    const prefix = debianId.slice("sha256:".length, "sha256:".length + 12);
    expect(
      await gate({ allowIdReferences: true, allowed: ["devhatchery-test/debian:*"] }).choose("bob", prefix),
    ).toEqual({ image: debianId, ownSnapshot: false, pinned: false });
    await expect(
      gate({ allowIdReferences: true, allowed: [`${prefix}*`, "ubuntu:*"] }).choose("bob", prefix),
    ).rejects.toMatchObject({ code: "POLICY_DENIED" });
  });
});
