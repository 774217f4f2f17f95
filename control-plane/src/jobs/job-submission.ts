import type { JobProfileConfig, JobsConfig } from "../config.js";
import { ControlPlaneError } from "../errors.js";
import type { Principal } from "../runners/runner.js";
import type { JobRepository, JobRequest } from "./job.js";
import { checkRepositoryUrl } from "./job-paths.js";
import { resolveJobSecrets, type GivenSecret, type JobSecrets } from "./job-secrets.js";

/** What job_run asks for (the tool's arguments, names as in the code). */
export interface JobSubmission {
  task: string;
  profile?: string | undefined;
  image?: string | undefined;
  snapshot?: string | undefined;
  repository?: JobRepository | undefined;
  secrets?: Record<string, GivenSecret> | undefined;
  env?: Record<string, string> | undefined;
  storage?: "volume" | "tmpfs" | undefined;
  cpus?: number | undefined;
  memoryMb?: number | undefined;
  network?: boolean | undefined;
  timeoutS?: number | undefined;
  keep?: boolean | undefined;
  artifacts?: string[] | undefined;
}

/**
 * Checks a submission against the server's jobs configuration and fills in the defaults: its profile, timeout,
 * network and repository, and its secrets (resolved, values in memory only). A refusal here starts nothing.
 */
export async function prepareJob(
  principal: Principal,
  submission: JobSubmission,
  config: JobsConfig,
): Promise<{ profile: JobProfileConfig; request: JobRequest; secrets: JobSecrets }> {
  const profileName = submission.profile ?? "shell";
  const profile = config.profiles.find((candidate) => candidate.name === profileName);
  if (!profile)
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      `There is no job profile "${profileName}"; this server has ${config.profiles.map((known) => `"${known.name}"`).join(", ")} (system_status lists them).`,
    );
  const timeoutS = submission.timeoutS ?? profile.timeoutS;
  if (timeoutS > config.maxTimeoutS)
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      `timeout_s ${timeoutS} is above this server's jobs.max_timeout_s (${config.maxTimeoutS}); ask for less.`,
    );
  if (submission.image !== undefined && submission.snapshot !== undefined)
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      `image "${submission.image}" and snapshot "${submission.snapshot}" were both given; a job runs one of them.`,
    );
  const network = submission.network ?? profile.network;
  const repository = submission.repository;
  if (repository) {
    checkRepositoryUrl(repository.url);
    if (!network)
      throw new ControlPlaneError(
        "INVALID_ARGUMENT",
        "A job with a repository needs network: true (its runner clones the repository).",
      );
  }
  const secrets = await resolveJobSecrets(principal, submission.secrets ?? {}, profile, config.secrets);
  if (repository?.credential !== undefined && !secrets.values.has(repository.credential))
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      `repository.credential names ${repository.credential}, which is not one of this job's secrets; pass it in secrets too.`,
    );
  const request: JobRequest = {
    profile: profile.name,
    task: submission.task,
    image: submission.image,
    snapshot: submission.snapshot,
    repository,
    secrets: secrets.sources,
    env: submission.env ?? {},
    storage: submission.storage ?? "volume",
    cpus: submission.cpus,
    memoryMb: submission.memoryMb,
    network,
    timeoutS,
    keep: submission.keep ?? false,
    keepForS: config.keepForS,
    artifacts: submission.artifacts ?? [],
  };
  return { profile, request, secrets };
}
