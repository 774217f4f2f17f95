import { ControlPlaneError } from "../errors.js";

/** The server-wide configuration, when no named policy but the config's own limits refuse a request. */
export const SERVER_POLICY = "server";

/**
 * A request refused by policy: `policy` names the policy ("server" for the server-wide limits), `what` the rule
 * (image, cpus, tools, …) and `limit` its value; all three go to the audit log.
 */
export class PolicyDeniedError extends ControlPlaneError {
  constructor(
    readonly what: string,
    readonly limit: string | number,
    message: string,
    readonly policy: string = SERVER_POLICY,
  ) {
    super("POLICY_DENIED", message);
  }
}
