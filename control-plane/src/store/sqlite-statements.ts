import type { DatabaseSync, StatementSync } from "node:sqlite";

/** Failed spawns are kept until they expire; spawns still starting are kept until reconcile settles them. */
const LIVE_SPAWN = "(status = 'starting' OR expires_at > $now)";

export type SqliteStatements = ReturnType<typeof prepareStatements>;

/** The state store's statements for idempotency keys, spawns and activity, prepared once per connection. */
export function prepareStatements(db: DatabaseSync) {
  const sql = (text: string): StatementSync => db.prepare(text);
  return {
    // Takes the key when it is new or its previous use expired; leaves a live record alone (changes = 0).
    claim: sql(
      `INSERT INTO idempotency_keys (principal, key, request_hash, runner_id, created_at, expires_at, completed)
       VALUES ($principal, $key, $requestHash, $runnerId, $createdAt, $expiresAt, 0)
       ON CONFLICT (principal, key) DO UPDATE SET request_hash = excluded.request_hash, runner_id = excluded.runner_id,
         created_at = excluded.created_at, expires_at = excluded.expires_at, completed = 0
       WHERE idempotency_keys.expires_at <= excluded.created_at`,
    ),
    findKey: sql("SELECT * FROM idempotency_keys WHERE principal = $principal AND key = $key"),
    completeKey: sql(
      "UPDATE idempotency_keys SET completed = 1, runner_id = $runnerId WHERE principal = $principal AND key = $key",
    ),
    releaseKey: sql("DELETE FROM idempotency_keys WHERE principal = $principal AND key = $key"),
    pruneKeys: sql("DELETE FROM idempotency_keys WHERE expires_at <= $now"),
    recordSpawn: sql(
      `INSERT INTO spawns (runner_id, principal, image, workspace_key, alias, status, error, created_at, expires_at)
       VALUES ($runnerId, $principal, $image, $workspaceKey, $alias, $status, $error, $createdAt, $expiresAt)
       ON CONFLICT (runner_id) DO UPDATE SET image = excluded.image, workspace_key = excluded.workspace_key,
         alias = excluded.alias, status = excluded.status, error = excluded.error, created_at = excluded.created_at,
         expires_at = excluded.expires_at
       WHERE spawns.principal = excluded.principal`,
    ),
    failSpawn: sql("UPDATE spawns SET status = 'failed', error = $error WHERE runner_id = $runnerId"),
    deleteSpawn: sql("DELETE FROM spawns WHERE runner_id = $runnerId"),
    findSpawn: sql(`SELECT * FROM spawns WHERE principal = $principal AND runner_id = $runnerId AND ${LIVE_SPAWN}`),
    listSpawns: sql(
      `SELECT * FROM spawns WHERE principal = $principal AND ${LIVE_SPAWN} ORDER BY created_at DESC, runner_id`,
    ),
    listAllSpawns: sql(`SELECT * FROM spawns WHERE ${LIVE_SPAWN} ORDER BY created_at DESC, runner_id`),
    pruneSpawns: sql("DELETE FROM spawns WHERE status = 'failed' AND expires_at <= $now"),
    touchRunner: sql(
      `INSERT INTO runner_activity (runner_id, principal, at) VALUES ($runnerId, $principal, $at)
       ON CONFLICT (runner_id) DO UPDATE SET at = excluded.at
       WHERE runner_activity.principal = excluded.principal AND excluded.at > runner_activity.at`,
    ),
    runnerActivity: sql("SELECT runner_id AS id, at FROM runner_activity WHERE principal = $principal"),
    forgetRunner: sql("DELETE FROM runner_activity WHERE runner_id = $runnerId"),
    allRunnerActivity: sql("SELECT runner_id AS id, at FROM runner_activity"),
    recordIdle: sql(
      `INSERT INTO runner_idle (runner_id, principal, action, at) VALUES ($runnerId, $principal, $action, $at)
       ON CONFLICT (runner_id) DO UPDATE SET action = excluded.action, at = excluded.at
       WHERE runner_idle.principal = excluded.principal`,
    ),
    findIdle: sql("SELECT principal, action, at FROM runner_idle WHERE runner_id = $runnerId"),
    clearIdle: sql("DELETE FROM runner_idle WHERE runner_id = $runnerId"),
    touchWorkspace: sql(
      `INSERT INTO workspace_activity (principal, workspace_key, at) VALUES ($principal, $workspaceKey, $at)
       ON CONFLICT (principal, workspace_key) DO UPDATE SET at = excluded.at WHERE excluded.at > workspace_activity.at`,
    ),
    workspaceActivity: sql("SELECT workspace_key AS id, at FROM workspace_activity WHERE principal = $principal"),
    allWorkspaceActivity: sql("SELECT principal, workspace_key AS id, at FROM workspace_activity"),
    recordPulledImage: sql(
      `INSERT INTO pulled_images (image, pulled_at) VALUES ($image, $at)
       ON CONFLICT (image) DO UPDATE SET pulled_at = excluded.pulled_at`,
    ),
    pulledImages: sql("SELECT image, pulled_at AS at FROM pulled_images ORDER BY image"),
    forgetPulledImage: sql("DELETE FROM pulled_images WHERE image = $image"),
    forgetWorkspace: sql(
      "DELETE FROM workspace_activity WHERE principal = $principal AND workspace_key = $workspaceKey",
    ),
    ping: sql("SELECT 1 AS ok"),
  };
}
