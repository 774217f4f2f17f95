import { LABEL } from "./labels.js";

/**
 * Which objects on a shared engine belong to one control plane: those labelled with its instance, and, with
 * `adoptUnlabelled`, those made by a version without instance labels. Every listing, lookup and event filter of the
 * Docker runtime goes through one, so two control planes on one engine never see each other's objects. Agent volumes
 * stay shared on purpose: read-only, named and labelled by agent version, content digest and architecture, so every
 * instance would fill them with the same bytes.
 */
export class InstanceScope {
  constructor(
    readonly instance: string,
    readonly adoptUnlabelled = false,
  ) {}

  /** The label to put on everything this instance creates. */
  labels(): Record<string, string> {
    return { [LABEL.instance]: this.instance };
  }

  /** Engine-side label filters; empty when unlabelled objects are adopted (an engine filter cannot say "absent"), so callers also check owns(). */
  labelFilter(): string[] {
    return this.adoptUnlabelled ? [] : [`${LABEL.instance}=${this.instance}`];
  }

  /** Whether an object with these labels is this instance's. */
  owns(labels: Record<string, string> | null | undefined): boolean {
    const instance = labels?.[LABEL.instance];
    return instance === this.instance || (this.adoptUnlabelled && !instance);
  }
}

/** The instance of runtimes built without one (tools and tests that drive the runtime directly). */
export const DEFAULT_INSTANCE_SCOPE = new InstanceScope("default");
