import type { DatabaseSync, StatementSync } from "node:sqlite";
import type { RunnerTokens } from "./state-store.js";

/** Runner agent tokens in SQLite, one row per runner; state.db is the control plane's own file. */
export class SqliteRunnerTokens implements RunnerTokens {
  private readonly select: StatementSync;
  private readonly upsert: StatementSync;
  private readonly remove: StatementSync;

  constructor(db: DatabaseSync) {
    this.select = db.prepare("SELECT token FROM runner_tokens WHERE runner_id = $runnerId");
    this.upsert = db.prepare(
      `INSERT INTO runner_tokens (runner_id, token, created_at) VALUES ($runnerId, $token, $createdAt)
       ON CONFLICT (runner_id) DO UPDATE SET token = excluded.token, created_at = excluded.created_at`,
    );
    this.remove = db.prepare("DELETE FROM runner_tokens WHERE runner_id = $runnerId");
  }

  get(runnerId: string): string | undefined {
    const row = this.select.get({ runnerId });
    return typeof row?.token === "string" ? row.token : undefined;
  }

  set(runnerId: string, token: string): void {
    this.upsert.run({ runnerId, token, createdAt: new Date().toISOString() });
  }

  delete(runnerId: string): void {
    this.remove.run({ runnerId });
  }
}
