import type { PrincipalPolicy } from "./principal-policy.js";
import type { Principal } from "./principal.js";

/**
 * The principal of a long-lived MCP session: its id is fixed when the session opens, and its groups and policy follow
 * the token of the latest request, so a token with fewer groups (or an operator's narrower policy after a restart of
 * the provider's mapping) takes effect on the next call rather than when the session ends.
 */
export class SessionPrincipal implements Principal {
  private current: Principal;

  constructor(principal: Principal) {
    this.current = principal;
  }

  get id(): string {
    return this.current.id;
  }

  get groups(): readonly string[] | undefined {
    return this.current.groups;
  }

  get policy(): PrincipalPolicy | undefined {
    return this.current.policy;
  }

  /** Takes the groups and policy of this request's principal; a different principal is ignored (sessions are per id). */
  update(principal: Principal): void {
    if (principal.id === this.current.id) this.current = principal;
  }
}
