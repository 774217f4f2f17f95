import type { PrincipalPolicy } from "./principal-policy.js";

/** Who is calling, as established by auth. Every runner belongs to exactly one principal. */
export interface Principal {
  readonly id: string;
  /** Groups from the token (an OIDC groups claim, or a bearer token's configured groups). */
  readonly groups?: readonly string[];
  /** The policy that applies to this caller; without one only the server-wide limits apply. */
  readonly policy?: PrincipalPolicy;
}

/** The single principal of `auth: none` (loopback only). */
export const LOCAL_PRINCIPAL: Principal = { id: "local" };
