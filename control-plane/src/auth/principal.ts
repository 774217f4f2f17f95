/** Who is calling, as established by auth. Every runner belongs to exactly one principal. */
export interface Principal {
  readonly id: string;
}

/** The single principal of `auth: none` (loopback only). */
export const LOCAL_PRINCIPAL: Principal = { id: "local" };
