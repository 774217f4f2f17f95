import { readFile } from "node:fs/promises";
import type { JobProfileConfig, JobsConfig } from "../config.js";
import { ControlPlaneError } from "../errors.js";
import type { Principal } from "../runners/runner.js";
import type { JobRequest } from "./job.js";

/** A secret as job_run passes it: the value itself, or the name of an operator secret. */
export type GivenSecret = string | { ref: string };

/** The most secrets one job may have, and the most bytes one may hold. */
export const MAX_JOB_SECRETS = 32;
export const MAX_SECRET_BYTES = 64 * 1024;

/** A job's secrets: the values (memory only, never stored) and where each came from (stored with the job). */
export interface JobSecrets {
  values: Map<string, string>;
  sources: JobRequest["secrets"];
}

/**
 * The secrets a job gets: what the caller passed (by value, or by operator secret name), then what the profile
 * supplies from operator secrets for names the caller left out. A name the profile needs that nobody supplies, or an
 * operator secret the principal may not use (or that does not exist: the same answer, so names cannot be probed), is
 * refused before anything starts.
 */
export async function resolveJobSecrets(
  principal: Principal,
  given: Record<string, GivenSecret>,
  profile: JobProfileConfig,
  operatorSecrets: JobsConfig["secrets"],
): Promise<JobSecrets> {
  const names = new Set([...Object.keys(given), ...profile.secrets.map((secret) => secret.name)]);
  if (names.size > MAX_JOB_SECRETS)
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      `A job may have at most ${MAX_JOB_SECRETS} secrets; it has ${names.size}.`,
    );
  const values = new Map<string, string>();
  const sources: JobRequest["secrets"] = {};
  for (const [name, secret] of Object.entries(given)) {
    if (typeof secret === "string") {
      values.set(name, checkedValue(name, secret, "the value passed"));
      sources[name] = { source: "value" };
    } else {
      values.set(name, await operatorValue(principal, name, secret.ref, operatorSecrets, "secrets"));
      sources[name] = { source: "operator", ref: secret.ref };
    }
  }
  for (const needed of profile.secrets) {
    if (values.has(needed.name)) continue;
    if (needed.from === undefined)
      throw new ControlPlaneError(
        "INVALID_ARGUMENT",
        `Profile "${profile.name}" needs the secret ${needed.name}; pass it in secrets, e.g. {"${needed.name}": "…"} or {"${needed.name}": {"ref": "<operator secret>"}}.`,
      );
    values.set(
      needed.name,
      await operatorValue(principal, needed.name, needed.from, operatorSecrets, `profile "${profile.name}"`),
    );
    sources[needed.name] = { source: "operator", ref: needed.from };
  }
  return { values, sources };
}

async function operatorValue(
  principal: Principal,
  name: string,
  ref: string,
  operatorSecrets: JobsConfig["secrets"],
  asker: string,
): Promise<string> {
  const secret = operatorSecrets.find((candidate) => candidate.name === ref);
  if (!secret || !mayUse(principal, secret.principals))
    throw new ControlPlaneError(
      "PERMISSION_DENIED",
      `Secret ${name}: no operator secret "${ref}" is available to you (${asker} asked for it); ask the operator to add it to jobs.secrets with you in its principals, or pass the value.`,
    );
  let content: string;
  try {
    content = (await readFile(secret.file, "utf8")).trim();
  } catch (error) {
    throw new ControlPlaneError(
      "FAILED_PRECONDITION",
      `Secret ${name}: the operator secret "${ref}" cannot be read on the server (${(error as NodeJS.ErrnoException).code ?? "error"}); tell the operator (jobs.secrets, its file).`,
    );
  }
  return checkedValue(name, content, `the operator secret "${ref}"`);
}

function checkedValue(name: string, value: string, what: string): string {
  if (value === "")
    throw new ControlPlaneError("INVALID_ARGUMENT", `Secret ${name}: ${what} is empty; a secret needs a value.`);
  if (Buffer.byteLength(value, "utf8") > MAX_SECRET_BYTES)
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      `Secret ${name}: ${what} is larger than ${MAX_SECRET_BYTES} bytes; secrets are keys and tokens, not files.`,
    );
  return value;
}

function mayUse(principal: Principal, allowed: readonly string[]): boolean {
  return allowed.some(
    (entry) =>
      entry === "*" ||
      entry === principal.id ||
      (entry.startsWith("group:") && (principal.groups ?? []).includes(entry.slice("group:".length))),
  );
}
