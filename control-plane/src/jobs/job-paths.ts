import type { JobProfileConfig } from "../config.js";
import { ControlPlaneError } from "../errors.js";

/** The job's private folder in the runner: on /dev/shm (a tmpfs in every container, never in a snapshot or an image). */
export const JOB_DIR = "/dev/shm/devhatchery-job";
/** Secrets as files (mode 0400, folder 0700), owned by the runner's user: the agent's user and nobody else. */
export const SECRETS_DIR = `${JOB_DIR}/secrets`;
export const TASK_FILE = `${JOB_DIR}/task.md`;
/** git's credential store for the clone; removed when the clone ends. */
export const GIT_CREDENTIALS_FILE = `${JOB_DIR}/git-credentials`;
export const WORK_DIR = "/work";
/** The job's own files in /work, left out of the diff (.git/info/exclude). */
export const JOB_WORK_DIR = `${WORK_DIR}/.devhatchery`;
export const RESULT_FILE = `${JOB_WORK_DIR}/result.json`;
export const PATCH_FILE = `${JOB_WORK_DIR}/job.patch`;

/** A placeholder in a profile's command word: lower-case letters and "_" in braces (`{}` and `${HOME}` are not). */
export const PLACEHOLDER = /\{([a-z_]+)\}/g;

/** The agent's command line: the profile's words with their placeholders filled (no shell in between). */
export function agentCommand(profile: JobProfileConfig, jobId: string, task: string): string[] {
  const values: Record<string, string> = {
    task,
    task_file: TASK_FILE,
    result_file: RESULT_FILE,
    secrets_dir: SECRETS_DIR,
    work: WORK_DIR,
    job_id: jobId,
  };
  return profile.command.map((word) =>
    word.replace(PLACEHOLDER, (whole, name: string) => (Object.hasOwn(values, name) ? values[name]! : whole)),
  );
}

/** What the agent finds in its environment besides the profile's and the job's own variables: paths, never secrets. */
export function jobEnvironment(jobId: string): Record<string, string> {
  return {
    DEVHATCHERY_JOB_ID: jobId,
    DEVHATCHERY_TASK_FILE: TASK_FILE,
    DEVHATCHERY_RESULT_FILE: RESULT_FILE,
    DEVHATCHERY_SECRETS_DIR: SECRETS_DIR,
  };
}

/**
 * Prepares the job folder: the secrets folder private to the runner's user, /work/.devhatchery for the result. Runs
 * as the runner's user, who owns what it makes.
 */
export const PREPARE_SCRIPT = `set -eu
umask 077
rm -rf ${JOB_DIR}
mkdir -p ${SECRETS_DIR}
chmod 0700 ${JOB_DIR} ${SECRETS_DIR}`;

/**
 * Clones $1 (ref $2, credentials file $3 or "") into the empty /work, excludes .devhatchery from git, and prints the
 * commit it checked out last, as "devhatchery-base-commit <sha>".
 */
export const CLONE_SCRIPT = `set -eu
url="$1"; ref="$2"; credentials="$3"
trap 'rm -f ${GIT_CREDENTIALS_FILE}' EXIT
command -v git >/dev/null 2>&1 || { echo "devhatchery: this image has no git; use an image with git for a job with a repository" >&2; exit 127; }
if [ -n "$(ls -A ${WORK_DIR} 2>/dev/null)" ]; then echo "devhatchery: ${WORK_DIR} is not empty in this image, so the repository cannot be cloned into it" >&2; exit 1; fi
if [ -n "$credentials" ]; then
  git -c credential.helper= -c "credential.helper=store --file=$credentials" clone --quiet -- "$url" ${WORK_DIR}
else
  git clone --quiet -- "$url" ${WORK_DIR}
fi
cd ${WORK_DIR}
if [ -n "$ref" ]; then git -c advice.detachedHead=false checkout --quiet "$ref"; fi
mkdir -p ${JOB_WORK_DIR}
printf '%s\\n' '.devhatchery/' >> .git/info/exclude
echo "devhatchery-base-commit $(git rev-parse HEAD)"`;

/** Makes /work/.devhatchery for a job without a repository. */
export const NO_REPOSITORY_SCRIPT = `set -eu
mkdir -p ${JOB_WORK_DIR}`;

/**
 * Stages every change in /work (new files included, .devhatchery left out), writes the binary patch against the base
 * commit $1 to the patch file and prints the changed files, NUL-separated (git diff --name-status -z).
 */
export const COLLECT_SCRIPT = `set -eu
cd ${WORK_DIR}
mkdir -p ${JOB_WORK_DIR}
git add -A >/dev/null
git diff --cached --binary "$1" > ${PATCH_FILE}
git diff --cached --name-status -z "$1"`;

/** Removes the job folder (secrets, task) before a runner is kept for inspection. */
export const SCRUB_SCRIPT = `rm -rf ${JOB_DIR}`;

/** Repository URLs jobs may clone: http(s) and git://, without credentials in them. */
export function checkRepositoryUrl(url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      `repository.url "${url}" is not a URL; give an https://, http:// or git:// URL of the repository.`,
    );
  }
  if (!["https:", "http:", "git:"].includes(parsed.protocol))
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      `repository.url uses ${parsed.protocol.replace(/:$/, "")}; only https, http and git URLs can be cloned (ssh keys and local paths are not supported).`,
    );
  if (parsed.username !== "" || parsed.password !== "")
    throw new ControlPlaneError(
      "INVALID_ARGUMENT",
      "repository.url carries credentials; put the password or token in a secret and name it in repository.credential (it would otherwise end up in logs and in .git/config).",
    );
  return parsed;
}

/** The git credential store line for `url`: scheme://user:password@host[:port]. */
export function credentialLine(url: URL, username: string, password: string): string {
  // git decodes every %XX in the store, so "%" must be encoded too (URL's username/password setters leave it).
  return `${url.protocol}//${encodeURIComponent(username)}:${encodeURIComponent(password)}@${url.host}\n`;
}

/** Parses `git diff --name-status -z`: status, path (and for renames and copies, the old path first). */
export function parseNameStatus(text: string): Array<{ path: string; status: string; previousPath?: string }> {
  const fields = text.split("\0");
  const files: Array<{ path: string; status: string; previousPath?: string }> = [];
  for (let index = 0; index < fields.length;) {
    const status = fields[index++] ?? "";
    if (status === "") continue;
    const letter = status.charAt(0);
    if (letter === "R" || letter === "C") {
      const previousPath = fields[index++] ?? "";
      files.push({ status: letter, path: fields[index++] ?? "", previousPath });
    } else {
      files.push({ status: letter, path: fields[index++] ?? "" });
    }
  }
  return files;
}

/** The agent's JSON output (stdout_json profiles): the whole output, or else its last line that is JSON. */
export function parseStdoutJson(stdout: string): { result: unknown } | { error: string } {
  const trimmed = stdout.trim();
  if (trimmed === "") return { error: "the agent printed nothing on stdout; a JSON document was expected" };
  try {
    return { result: JSON.parse(trimmed) as unknown };
  } catch {
    const lines = trimmed.split("\n").reverse();
    for (const line of lines) {
      const candidate = line.trim();
      if (!candidate.startsWith("{") && !candidate.startsWith("[")) continue;
      try {
        return { result: JSON.parse(candidate) as unknown };
      } catch {
        // try the line before
      }
    }
    return { error: "the agent's stdout holds no JSON document (whole, or as its last JSON line)" };
  }
}
