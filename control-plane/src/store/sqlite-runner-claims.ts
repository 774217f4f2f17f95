import type { DatabaseSync, SQLOutputValue, StatementSync } from "node:sqlite";
import type { RunnerClaimRecord, RunnerClaims } from "./state-store.js";

type Row = Record<string, SQLOutputValue>;

/** Claims of pooled runners in SQLite (runner_claims), one row per claimed runner. */
export class SqliteRunnerClaims implements RunnerClaims {
  private readonly statements: Record<
    "insert" | "select" | "ofPrincipal" | "all" | "claimed" | "remove",
    StatementSync
  >;

  constructor(db: DatabaseSync) {
    this.statements = {
      insert: db.prepare(
        `INSERT INTO runner_claims (runner_id, pool, principal, alias, env, limits, token, state, claimed_at)
         VALUES ($runnerId, $pool, $principal, $alias, $env, $limits, $token, $state, $claimedAt)
         ON CONFLICT (runner_id) DO NOTHING`,
      ),
      select: db.prepare("SELECT * FROM runner_claims WHERE runner_id = $runnerId"),
      ofPrincipal: db.prepare("SELECT runner_id FROM runner_claims WHERE principal = $principal ORDER BY claimed_at"),
      all: db.prepare("SELECT * FROM runner_claims ORDER BY claimed_at"),
      claimed: db.prepare("UPDATE runner_claims SET state = 'claimed' WHERE runner_id = $runnerId"),
      remove: db.prepare("DELETE FROM runner_claims WHERE runner_id = $runnerId"),
    };
  }

  insert(claim: RunnerClaimRecord): boolean {
    const result = this.statements.insert.run({
      runnerId: claim.runnerId,
      pool: claim.pool,
      principal: claim.principal,
      alias: claim.alias ?? null,
      env: JSON.stringify(claim.env),
      limits: JSON.stringify(claim.limits),
      token: claim.token,
      state: claim.state,
      claimedAt: claim.claimedAt,
    });
    return Number(result.changes) === 1;
  }

  get(runnerId: string): RunnerClaimRecord | undefined {
    const row = this.statements.select.get({ runnerId });
    return row === undefined ? undefined : toClaim(row);
  }

  runnerIdsOf(principal: string): string[] {
    return this.statements.ofPrincipal.all({ principal }).map((row) => String(row.runner_id));
  }

  all(): RunnerClaimRecord[] {
    return this.statements.all.all().map(toClaim);
  }

  markClaimed(runnerId: string): void {
    this.statements.claimed.run({ runnerId });
  }

  delete(runnerId: string): void {
    this.statements.remove.run({ runnerId });
  }
}

function toClaim(row: Row): RunnerClaimRecord {
  return {
    runnerId: String(row.runner_id),
    pool: String(row.pool),
    principal: String(row.principal),
    alias: row.alias === null ? undefined : String(row.alias),
    env: JSON.parse(String(row.env)) as Record<string, string>,
    limits: JSON.parse(String(row.limits)) as RunnerClaimRecord["limits"],
    token: String(row.token),
    state: row.state === "claimed" ? "claimed" : "claiming",
    claimedAt: String(row.claimed_at),
  };
}
