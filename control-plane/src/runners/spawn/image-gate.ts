import type { ImagePullPolicy } from "../../config.js";
import { DIGEST_MARK, imageAdmission, isImageAllowed } from "../../config/image-pattern.js";
import {
  familiarRepository,
  parseImageReference,
  referenceForms,
  type NamedImageReference,
} from "../../config/image-reference.js";
import { ControlPlaneError } from "../../errors.js";
import type { ContainerRuntime } from "../../runtime/container-runtime.js";
import type { ImageInfo, LocalImage, PullProgress } from "../../runtime/runner-images.js";
import { SNAPSHOT_REPOSITORY } from "../../runtime/runner-snapshots.js";
import { KIND, LABEL } from "../../runtime/labels.js";
import { SERVER_POLICY } from "../../auth/policy-denied-error.js";
import { invalidImage, PolicyDeniedError, type DigestPins } from "./spawn-request.js";

/** The operator's image rules (config images.*). */
export interface ImagePolicy {
  defaultImage: string;
  /** images.allowed; empty admits every image. */
  allowed: readonly string[];
  pull: ImagePullPolicy;
  /** images.registries; undefined admits every registry. */
  registries: readonly string[] | undefined;
  allowIdReferences: boolean;
}

/** A caller's own image rules (its policy's images and pull), which narrow the operator's. */
export interface CallerImageRules {
  /** The policy's name, for POLICY_DENIED and the audit log. */
  policy: string;
  /** Patterns like images.allowed; undefined: images.allowed alone decides. */
  images?: readonly string[] | undefined;
  /** "never": the caller may not cause a pull. */
  pull?: ImagePullPolicy | undefined;
}

/** The image a spawn runs, as decided before the spawn is accepted. */
export interface ImageChoice {
  /** The reference as given (an id reference becomes the full image id), or the caller's snapshot image. */
  image: string;
  /** One of the caller's own snapshots: images.allowed does not apply to it. */
  ownSnapshot: boolean;
  /** images.allowed (or the caller's policy) admits the image only through a digest pattern: its digest must match. */
  pinned: boolean;
  /** The digest patterns that pinned it, per rule set; the digest must match a pattern of every set. */
  pinPatterns?: DigestPins[] | undefined;
  /** The pull policy for this caller (images.pull narrowed by its policy); images.pull when undefined. */
  pull?: ImagePullPolicy | undefined;
  /** The caller's policy when it is what forbids pulls (named in the refusal). */
  pullPolicy?: string | undefined;
}

/** images.pull as a caller's policy narrows it: "never" on either side wins; otherwise the policy's choice. */
export function effectivePull(server: ImagePullPolicy, caller: ImagePullPolicy | undefined): ImagePullPolicy {
  return server === "never" || caller === undefined ? server : caller;
}

/** The local image a runner is created from: exactly the image the checks saw (by id), and its digest when pinned. */
export interface PreparedImage extends ImageInfo {
  id: string;
  digest: string | undefined;
}

type ImageRuntime = Pick<ContainerRuntime, "images" | "snapshots">;

/**
 * Decides which image a principal may run. A reference is resolved the way the engine resolves it; another principal's
 * snapshot, an image id (unless allowed) and a missing image all fail with the same IMAGE_NOT_FOUND text, so a caller
 * learns nothing about images that are not theirs to run. Pulls follow images.pull and images.registries.
 */
export class ImageGate {
  constructor(
    private readonly runtime: ImageRuntime,
    private readonly policy: ImagePolicy,
    /** Told of every image pulled for a runner (garbage collection may remove it later). */
    private readonly onPulled: (image: string) => void = () => {},
  ) {}

  /** The operator's default image (images.default), for spawns that name none. */
  get defaultImage(): string {
    return this.policy.defaultImage;
  }

  /** Checks `reference` for `principal` before a spawn is accepted; a missing image that may be pulled passes. */
  async choose(principal: string, reference: string, rules?: CallerImageRules): Promise<ImageChoice> {
    const parsed = parseImageReference(reference);
    if (!parsed || reference.length > 255) throw invalidImage(reference);
    const pull = effectivePull(this.policy.pull, rules?.pull);
    const pullPolicy = rules?.pull === "never" ? rules.policy : undefined;
    // Only what a caller's policy changed travels with the choice; the rest is the operator's, read at prepare.
    const narrowed = {
      ...(pull !== this.policy.pull ? { pull } : {}),
      ...(pullPolicy !== undefined ? { pullPolicy } : {}),
    };
    if (parsed.kind === "id") return { ...(await this.chooseById(principal, reference, rules)), ...narrowed };
    if (isSnapshotReference(parsed)) {
      const own = (await this.runtime.snapshots.list(principal)).find(
        (snapshot) => canonicalOf(snapshot.image) === parsed.canonical,
      );
      if (!own) throw this.notFound(reference);
      return { image: own.image, ownSnapshot: true, pinned: false };
    }
    this.checkRegistry(reference, parsed);
    const pinPatterns: DigestPins[] = [
      ...(this.checkAllowedName(reference) ? [this.serverPins()] : []),
      ...(rules?.images && checkCallerImage(reference, rules.images, rules.policy) === "digest"
        ? [{ policy: rules.policy, patterns: rules.images.filter((pattern) => pattern.includes(DIGEST_MARK)) }]
        : []),
    ];
    const local = await this.runtime.images.inspect(reference);
    if (local ? !isUsable(principal, local, parsed) : pull === "never")
      throw this.notFound(reference, pull, pullPolicy);
    const pinned = pinPatterns.length > 0;
    return { image: reference, ownSnapshot: false, pinned, ...(pinned ? { pinPatterns } : {}), ...narrowed };
  }

  /** Makes the chosen image local (pulling as images.pull says) and checks it again as the engine now resolves it. */
  async prepare(
    principal: string,
    choice: ImageChoice,
    onProgress: (progress: PullProgress) => void,
  ): Promise<PreparedImage> {
    const parsed = parseImageReference(choice.image);
    if (parsed?.kind !== "name") {
      const local = parsed ? await this.runtime.images.inspect(choice.image) : undefined;
      if (!local || isForeignSnapshot(principal, local)) throw this.notFound(choice.image);
      return { ...toInfo(local), digest: undefined };
    }
    const snapshot = isSnapshotReference(parsed);
    const pull = choice.pull ?? this.policy.pull;
    let local = pull === "always" && !snapshot ? undefined : await this.runtime.images.inspect(choice.image);
    if (!local) {
      if (snapshot || pull === "never") throw this.notFound(choice.image, pull, choice.pullPolicy);
      // The registry is checked where the spawn was accepted; checking again costs nothing and guards every caller.
      this.checkRegistry(choice.image, parsed);
      await this.runtime.images.pull(choice.image, onProgress);
      this.onPulled(choice.image);
      local = await this.runtime.images.inspect(choice.image);
    }
    if (!local || !isUsable(principal, local, parsed) || (choice.ownSnapshot && !isOwnSnapshot(principal, local)))
      throw this.notFound(choice.image);
    const digest = choice.pinned
      ? this.pinnedDigest(choice.image, parsed, local, choice.pinPatterns ?? [this.serverPins()])
      : undefined;
    return { ...toInfo(local), digest };
  }

  /** The one answer for an image this principal cannot run, whether it is missing, not theirs, or named by id. */
  notFound(reference: string, pull: ImagePullPolicy = this.policy.pull, pullPolicy?: string): ControlPlaneError {
    const never =
      this.policy.pull === "never"
        ? ', and this server does not pull images (images.pull is "never")'
        : pull === "never"
          ? `, and policy "${pullPolicy ?? "?"}" (rule pull) does not let you pull images`
          : "";
    const ids = this.policy.allowIdReferences ? "" : " (image ids are not accepted)";
    return new ControlPlaneError(
      "IMAGE_NOT_FOUND",
      `Image "${reference}" not found: no image of that name on the Docker host is available to this principal${never}. ` +
        `Name an image by repository and tag${ids}, e.g. "${this.policy.defaultImage}", or pass one of your snapshots (snapshot_list) as snapshot.`,
    );
  }

  private async chooseById(principal: string, reference: string, rules?: CallerImageRules): Promise<ImageChoice> {
    if (!this.policy.allowIdReferences) throw this.notFound(reference);
    const local = await this.runtime.images.inspect(reference);
    if (!local || isForeignSnapshot(principal, local)) throw this.notFound(reference);
    // Labels alone could be copied into any image: an own snapshot is also tagged as one of the caller's snapshots.
    const ownSnapshot =
      isOwnSnapshot(principal, local) &&
      (await this.runtime.snapshots.list(principal)).some((snapshot) =>
        local.tags.some((tag) => canonicalOf(tag) === canonicalOf(snapshot.image)),
      );
    // The id itself matches no pattern: the image's own names must.
    const names = [...local.tags, ...local.digests].flatMap((name) => {
      const named = parseImageReference(name);
      return named?.kind === "name" ? referenceForms(name, named) : [];
    });
    if (
      !ownSnapshot &&
      this.policy.allowed.length > 0 &&
      !names.some((name) => isImageAllowed(name, this.policy.allowed))
    )
      throw this.denied(reference);
    if (
      !ownSnapshot &&
      rules?.images &&
      (rules.images.length === 0 || !names.some((name) => isImageAllowed(name, rules.images!)))
    )
      throw callerDenied(reference, rules.images, rules.policy);
    return { image: local.id, ownSnapshot, pinned: false };
  }

  private checkRegistry(reference: string, parsed: NamedImageReference): void {
    const registries = this.policy.registries;
    if (!registries || registries.includes(parsed.registry)) return;
    throw new PolicyDeniedError(
      "image registry",
      registries.join(", "),
      `image "${reference}" names registry "${parsed.registry}", which this server does not take images from (images.registries: ${registries.map((registry) => `"${registry}"`).join(", ")}); ` +
        `use an image from one of those, or ask the operator to add "${parsed.registry}" to images.registries (DEVHATCHERY_IMAGE_REGISTRIES).`,
    );
  }

  /** Whether images.allowed admits the name; true when only a digest pattern does (the digest is checked once the image is local). */
  private checkAllowedName(reference: string): boolean {
    const admission = imageAdmission(reference, this.policy.allowed);
    if (admission === "denied") throw this.denied(reference);
    return admission === "digest";
  }

  private pinnedDigest(reference: string, parsed: NamedImageReference, local: LocalImage, pins: DigestPins[]): string {
    const digests = local.digests.flatMap((name) => {
      const named = parseImageReference(name);
      return named?.kind === "name" && named.repository === parsed.repository && named.digest ? [named.digest] : [];
    });
    const candidates = parsed.digest ? digests.filter((digest) => digest === parsed.digest) : digests;
    const admits = (digest: string, pin: DigestPins): boolean =>
      [`${familiarRepository(parsed)}@${digest}`, `${parsed.repository}@${digest}`].some((form) =>
        isImageAllowed(form, pin.patterns),
      );
    const match = candidates.find((digest) => pins.every((pin) => admits(digest, pin)));
    if (match) return match;
    // The first rule set no candidate satisfies is the one the refusal names.
    const refusing = pins.find((pin) => !candidates.some((digest) => admits(digest, pin))) ?? pins[0]!;
    const patterns = refusing.patterns;
    const rule = refusing.policy === SERVER_POLICY ? "images.allowed" : `policy "${refusing.policy}" (rule images)`;
    const had =
      digests.length > 0
        ? `digest ${digests.map((digest) => `"${digest}"`).join(", ")}`
        : "no registry digest (it was not pulled from a registry)";
    throw new PolicyDeniedError(
      "image digest",
      patterns.join(", "),
      `image "${reference}" has ${had}, which ${rule} does not admit (${patterns.map((pattern) => `"${pattern}"`).join(", ")}); ` +
        `use the image by an allowed digest, or ask the operator to update ${refusing.policy === SERVER_POLICY ? "images.allowed" : "the policy"}.`,
      refusing.policy,
    );
  }

  private serverPins(): DigestPins {
    return { policy: SERVER_POLICY, patterns: this.policy.allowed.filter((pattern) => pattern.includes(DIGEST_MARK)) };
  }

  private denied(reference: string): PolicyDeniedError {
    const { allowed, defaultImage } = this.policy;
    return new PolicyDeniedError(
      "image",
      allowed.join(", "),
      `image "${reference}" is not allowed on this server; use one matching ${allowed.map((pattern) => `"${pattern}"`).join(", ")}, or omit image for the default "${defaultImage}".`,
    );
  }
}

/** A caller's policy images admit `reference` by name or only by digest; refuses it otherwise. */
function checkCallerImage(reference: string, patterns: readonly string[], policy: string): "name" | "digest" {
  const admission = patterns.length === 0 ? "denied" : imageAdmission(reference, patterns);
  if (admission === "denied") throw callerDenied(reference, patterns, policy);
  return admission;
}

function callerDenied(reference: string, patterns: readonly string[], policy: string): PolicyDeniedError {
  return new PolicyDeniedError(
    "images",
    patterns.join(", "),
    `policy "${policy}" (rule images) does not allow image "${reference}"; use one matching ${patterns.map((pattern) => `"${pattern}"`).join(", ") || "(none)"}, or ask the operator to widen the policy.`,
    policy,
  );
}

function isSnapshotReference(parsed: NamedImageReference): boolean {
  return parsed.path.startsWith(`${SNAPSHOT_REPOSITORY}/`);
}

function canonicalOf(reference: string): string | undefined {
  const parsed = parseImageReference(reference);
  return parsed?.kind === "name" ? parsed.canonical : undefined;
}

/** The engine found the image by this name (not by searching ids) and it is not another principal's snapshot. */
function isUsable(principal: string, local: LocalImage, parsed: NamedImageReference): boolean {
  const names = parsed.digest ? local.digests : local.tags;
  return names.some((name) => canonicalOf(name) === parsed.canonical) && !isForeignSnapshot(principal, local);
}

/** Another principal's snapshot, or any snapshot of another control plane on this engine (equal principal names included). */
function isForeignSnapshot(principal: string, local: LocalImage): boolean {
  return local.labels[LABEL.kind] === KIND.snapshot && (local.labels[LABEL.owner] !== principal || local.otherInstance);
}

function isOwnSnapshot(principal: string, local: LocalImage): boolean {
  return local.labels[LABEL.kind] === KIND.snapshot && local.labels[LABEL.owner] === principal && !local.otherInstance;
}

function toInfo(local: LocalImage): ImageInfo & { id: string } {
  return { architecture: local.architecture, agentVersion: local.agentVersion, id: local.id };
}
