import { join } from "node:path";
import { DatabaseSync } from "node:sqlite";

/** A runner's agent token as the control plane keeps it: in its own state store (never in the container's config). */
export function storedRunnerToken(stateDir: string, runnerId: string): string {
  const db = new DatabaseSync(join(stateDir, "state.db"), { readOnly: true });
  try {
    const row = db.prepare("SELECT token FROM runner_tokens WHERE runner_id = ?").get(runnerId);
    return typeof row?.token === "string" ? row.token : "";
  } finally {
    db.close();
  }
}
