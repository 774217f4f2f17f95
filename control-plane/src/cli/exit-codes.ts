/** How `devhatchery` exits; documented in `devhatchery --help` and docs/configuration.md. */
export const EXIT = {
  ok: 0,
  /** The configuration is invalid, a referenced host path is missing, or the command line is wrong. */
  invalid: 1,
  /** The Docker engine cannot be reached. */
  dockerUnreachable: 2,
  /** The control plane could not be reached or refused the request (debug). */
  requestFailed: 3,
  /** The image build failed (images build). */
  buildFailed: 4,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
