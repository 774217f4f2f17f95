import { CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";
import { victimSecrets, type MatrixContext, type VictimObjects } from "./hostile-context.js";
import { rpcOutcome, toolOutcome, type Outcome, type Row } from "./hostile-row.js";

/**
 * The arguments of every tool that takes a `runner`, aimed at the victim: the attacker sends them with each foreign
 * reference below as `runner`. A tool the server lists with a `runner` argument but missing here fails the suite.
 */
export const RUNNER_TOOL_ARGS: Record<string, (victim: VictimObjects) => Record<string, unknown>> = {
  exec: () => ({ command: "cat /work/secret.txt" }),
  exec_list: () => ({}),
  exec_read: (victim) => ({ exec_id: victim.execId, wait_ms: 0 }),
  exec_resize: (victim) => ({ exec_id: victim.execId, cols: 100, rows: 30 }),
  exec_signal: (victim) => ({ exec_id: victim.execId, signal: "SIGKILL" }),
  exec_write: (victim) => ({ exec_id: victim.execId, data: "planted\n" }),
  export_create: () => ({ path: "/work" }),
  fs_changes: (victim) => ({ watch_id: victim.watchId, cursor: 0 }),
  fs_edit: () => ({ path: "/work/secret.txt", old_string: "victim-only", new_string: "planted" }),
  fs_list: () => ({ path: "/work" }),
  fs_mkdir: () => ({ path: "/work/planted" }),
  fs_move: () => ({ source: "/work/secret.txt", destination: "/work/moved.txt" }),
  fs_read: () => ({ path: "/work/secret.txt" }),
  fs_remove: () => ({ path: "/work/secret.txt", recursive: true }),
  fs_stat: () => ({ path: "/work/secret.txt" }),
  fs_unwatch: (victim) => ({ watch_id: victim.watchId }),
  fs_watch: () => ({ path: "/work" }),
  fs_write: () => ({ path: "/work/secret.txt", content: "overwritten" }),
  runner_attach: () => ({}),
  runner_pause: () => ({}),
  runner_remove: () => ({ remove_volume: true }),
  runner_resume: () => ({}),
  runner_stop: () => ({}),
  snapshot_create: () => ({ name: "stolen" }),
};

/**
 * Every way to name the victim's runner: its own references and the Docker names behind it. A full container id is
 * no valid name at all (64 characters), so it is refused as malformed, exactly like any 64-character string.
 */
const RUNNER_REFERENCES: Record<string, (victim: VictimObjects) => string> = {
  runner_id: (victim) => victim.runnerId,
  alias: (victim) => victim.alias,
  workspace_key: (victim) => victim.workspaceKey,
  "runner_id in upper case": (victim) => victim.runnerId.toUpperCase(),
  "volume name": (victim) => victim.volume,
  "container name": (victim) => victim.containerName,
  "short container id": (victim) => victim.containerId.slice(0, 12),
  "full container id": (victim) => victim.containerId,
};

/** Ids the victim got inside its runner, sent by the attacker inside the attacker's own runner. */
const SECONDARY_IDS: {
  tool: string;
  args: (victim: VictimObjects) => Record<string, unknown>;
  expected: (victim: VictimObjects) => string;
}[] = [
  {
    tool: "exec_read",
    args: (victim) => ({ exec_id: victim.execId, wait_ms: 0 }),
    expected: (victim) => `Exec "${victim.execId}" not found`,
  },
  {
    tool: "exec_signal",
    args: (victim) => ({ exec_id: victim.execId, signal: "SIGKILL" }),
    expected: (victim) => `Exec "${victim.execId}" not found`,
  },
  {
    tool: "exec_write",
    args: (victim) => ({ exec_id: victim.execId, data: "x" }),
    expected: (victim) => `Exec "${victim.execId}" not found`,
  },
  {
    tool: "fs_changes",
    args: (victim) => ({ watch_id: victim.watchId, cursor: 0 }),
    expected: (victim) => `Watch "${victim.watchId}" not found`,
  },
  {
    tool: "fs_unwatch",
    args: (victim) => ({ watch_id: victim.watchId }),
    expected: (victim) => `Watch "${victim.watchId}" not found`,
  },
  {
    tool: "exec_resize",
    args: (victim) => ({ exec_id: victim.execId, cols: 100, rows: 30 }),
    expected: (victim) => `Exec "${victim.execId}" not found`,
  },
];

/** Tools without a `runner` argument, each with the victim's names where it takes any. */
export const OTHER_TOOL_ROWS: Record<
  string,
  (victim: VictimObjects) => { name: string; args: Record<string, unknown>; expected: Row["expected"] }[]
> = {
  runner_spawn: (victim) => [
    {
      name: "snapshot id",
      args: { snapshot: victim.snapshotId },
      expected: { tool: { code: "NOT_FOUND", text: `Snapshot "${victim.snapshotId}" not found for this principal` } },
    },
    {
      name: "snapshot name",
      args: { snapshot: victim.snapshotName },
      expected: { tool: { code: "NOT_FOUND", text: `Snapshot "${victim.snapshotName}" not found for this principal` } },
    },
  ],
  snapshot_remove: (victim) => [
    {
      name: "snapshot id",
      args: { snapshot: victim.snapshotId },
      expected: { tool: { code: "NOT_FOUND", text: `Snapshot "${victim.snapshotId}" not found for this principal` } },
    },
    {
      name: "snapshot name",
      args: { snapshot: victim.snapshotName },
      expected: { tool: { code: "NOT_FOUND", text: `Snapshot "${victim.snapshotName}" not found for this principal` } },
    },
  ],
  volume_remove: (victim) => [
    {
      name: "workspace_key",
      args: { workspace_key: victim.workspaceKey },
      expected: {
        tool: { code: "NOT_FOUND", text: `Workspace "${victim.workspaceKey}" not found for this principal` },
      },
    },
    {
      name: "volume name",
      args: { workspace_key: victim.volume },
      expected: { tool: { code: "NOT_FOUND", text: `not found for this principal` } },
    },
  ],
  job_run: (victim) => [
    {
      name: "snapshot id",
      args: { task: "true", snapshot: victim.snapshotId },
      expected: { tool: { code: "NOT_FOUND", text: `Snapshot "${victim.snapshotId}" not found for this principal` } },
    },
    {
      name: "snapshot name",
      args: { task: "true", snapshot: victim.snapshotName },
      expected: { tool: { code: "NOT_FOUND", text: `Snapshot "${victim.snapshotName}" not found for this principal` } },
    },
  ],
  job_get: (victim) => [
    {
      name: "job id",
      args: { job: victim.jobId, output_cursor: 0 },
      expected: { tool: { code: "NOT_FOUND", text: `No job "${victim.jobId}" of yours` } },
    },
  ],
  job_cancel: (victim) => [
    {
      name: "job id",
      args: { job: victim.jobId },
      expected: { tool: { code: "NOT_FOUND", text: `No job "${victim.jobId}" of yours` } },
    },
  ],
  job_list: (victim) => [
    { name: "lists nothing of the victim", args: {}, expected: { reveals: victimSecrets(victim) } },
  ],
  runner_list: (victim) => [
    { name: "lists nothing of the victim", args: {}, expected: { reveals: victimSecrets(victim) } },
  ],
  volume_list: (victim) => [
    { name: "lists nothing of the victim", args: {}, expected: { reveals: victimSecrets(victim) } },
  ],
  snapshot_list: (victim) => [
    { name: "lists nothing of the victim", args: {}, expected: { reveals: victimSecrets(victim) } },
  ],
  export_list: (victim) => [
    { name: "lists nothing of the victim", args: {}, expected: { reveals: victimSecrets(victim) } },
  ],
  system_status: (victim) => [
    { name: "counts nothing of the victim", args: {}, expected: { reveals: victimSecrets(victim) } },
  ],
};

/** Every tool × every foreign reference, by the attacker. */
export function foreignToolRows(context: MatrixContext): Row[] {
  const { victim, attackerClient } = context;
  const rows: Row[] = [];
  for (const [tool, args] of Object.entries(RUNNER_TOOL_ARGS)) {
    for (const [kind, reference] of Object.entries(RUNNER_REFERENCES)) {
      const runner = reference(victim);
      const malformed = runner.length > 63;
      rows.push({
        group: "foreign runner",
        name: `${tool} with the victim's ${kind}`,
        target: tool,
        send: () => toolOutcome(attackerClient, tool, { runner, ...args(victim) }),
        expected: malformed
          ? { tool: { code: "INVALID_ARGUMENT", text: `"${runner}" is not a runner id, alias or workspace key` } }
          : { tool: { code: "NOT_FOUND", text: `Runner "${runner}" not found for this principal` } },
      });
    }
  }
  for (const { tool, args, expected } of SECONDARY_IDS) {
    rows.push({
      group: "foreign id in own runner",
      name: `${tool} in the attacker's runner with the victim's ${Object.keys(args(victim))[0]}`,
      target: tool,
      send: () => toolOutcome(attackerClient, tool, { runner: context.attacker.runnerId, ...args(victim) }),
      expected: { tool: { code: "NOT_FOUND", text: expected(victim) } },
    });
  }
  for (const [tool, cases] of Object.entries(OTHER_TOOL_ROWS)) {
    for (const { name, args, expected } of cases(victim)) {
      rows.push({
        group: "foreign name",
        name: `${tool}: the victim's ${name}`,
        target: tool,
        send: () => toolOutcome(attackerClient, tool, args),
        expected,
      });
    }
  }
  return rows;
}

/** The victim's task through every tasks/* method, and tasks/list. */
export function foreignTaskRows(context: MatrixContext): Row[] {
  const { victim, attackerClient } = context;
  const tasks = attackerClient.experimental.tasks;
  const notFound = { rpc: { code: -32602, text: "not found" } } as const;
  return [
    {
      group: "foreign task",
      name: "tasks/get of the victim's task",
      target: "tasks/get",
      send: () => rpcOutcome(() => tasks.getTask(victim.taskId)),
      expected: notFound,
    },
    {
      group: "foreign task",
      name: "tasks/result of the victim's task",
      target: "tasks/result",
      send: () => rpcOutcome(() => tasks.getTaskResult(victim.taskId, CallToolResultSchema)),
      expected: notFound,
    },
    {
      group: "foreign task",
      name: "tasks/cancel of the victim's task",
      target: "tasks/cancel",
      send: () => rpcOutcome(() => tasks.cancelTask(victim.taskId)),
      expected: notFound,
    },
    {
      group: "foreign task",
      name: "tasks/list shows nothing of the victim",
      target: "tasks/list",
      send: () => rpcOutcome(() => tasks.listTasks()),
      expected: { reveals: victimSecrets(victim) },
    },
  ];
}

/** The victim's resource URIs, one table per template: a new template without rows fails the suite. */
export const RESOURCE_URIS: Record<string, (victim: VictimObjects, attackerRunner: string) => Record<string, string>> =
  {
    "devhatchery://runners/{runner}": (victim) => ({
      runner_id: `devhatchery://runners/${victim.runnerId}`,
      alias: `devhatchery://runners/${victim.alias}`,
      workspace_key: `devhatchery://runners/${victim.workspaceKey}`,
    }),
    "devhatchery://runners/{runner}/files/{+path}": (victim) => ({
      "file by runner_id": `devhatchery://runners/${victim.runnerId}/files/work/secret.txt`,
      "directory by alias": `devhatchery://runners/${victim.alias}/files/work`,
      "file by workspace_key": `devhatchery://runners/${victim.workspaceKey}/files/work/secret.txt`,
    }),
    "devhatchery://runners/{runner}/execs/{exec}/output": (victim, attackerRunner) => ({
      "exec output by runner_id": `devhatchery://runners/${victim.runnerId}/execs/${victim.execId}/output`,
      "exec output by alias": `devhatchery://runners/${victim.alias}/execs/${victim.execId}/output`,
      "victim's exec id under the attacker's runner": `devhatchery://runners/${attackerRunner}/execs/${victim.execId}/output`,
    }),
  };

/** resources/read and resources/subscribe of every victim URI, and resources/list. */
export function foreignResourceRows(context: MatrixContext): Row[] {
  const { victim, attackerClient } = context;
  const rows: Row[] = [];
  for (const [template, uris] of Object.entries(RESOURCE_URIS)) {
    const attackerRunner = context.attacker.runnerId;
    for (const [kind, uri] of Object.entries(uris(victim, attackerRunner))) {
      const inOwnRunner = uri.includes(attackerRunner);
      const expected = {
        rpc: { code: -32002, text: inOwnRunner ? `Exec "${victim.execId}" not found` : "not found for this principal" },
      } as const;
      // A runner URI by alias or workspace key may be subscribed before such a runner exists: it then names the
      // attacker's own future runner, and the suite checks that no notification about the victim's ever arrives.
      const byName = template === "devhatchery://runners/{runner}" && kind !== "runner_id";
      rows.push({
        group: "foreign resource",
        name: `resources/read ${template}: ${kind}`,
        target: template,
        send: () => rpcOutcome(() => attackerClient.readResource({ uri })),
        expected,
      });
      rows.push({
        group: "foreign resource",
        name: `resources/subscribe ${template}: ${kind}`,
        target: template,
        send: () => rpcOutcome(() => attackerClient.subscribeResource({ uri })),
        expected: byName ? { reveals: victimSecrets(victim) } : expected,
      });
    }
  }
  rows.push({
    group: "foreign resource",
    name: "resources/list shows nothing of the victim",
    target: "resources/list",
    send: () => rpcOutcome(() => attackerClient.listResources()),
    expected: { reveals: victimSecrets(victim) },
  });
  return rows;
}

const SNAPSHOT_IMAGES = "runner_spawn resolves the image and refuses another principal's snapshot like a missing image";
/** A snapshot image name that exists nowhere: what every foreign snapshot reference must look like. */
export const MISSING_SNAPSHOT_IMAGE = "devhatchery-snapshot/does-not-exist:x";

/**
 * The victim's snapshot named as an `image` in every way the engine resolves it, to runner_spawn and to runner_attach
 * of the attacker's workspace that has no runner (which spawns one); each must be refused like a missing image.
 */
export function foreignImageRows(context: MatrixContext): Row[] {
  const { victim, attackerClient } = context;
  const hex = victim.snapshotImageId.replace(/^sha256:/, "");
  const references: Record<string, string> = {
    "local image reference": victim.snapshotImage,
    "docker.io qualified name": `docker.io/${victim.snapshotImage}`,
    "full sha256: image id": victim.snapshotImageId,
    "full image id without sha256:": hex,
    "12-character image id prefix": hex.slice(0, 12),
    "4-character image id prefix": hex.slice(0, 4),
    "1-character image id prefix": hex.slice(0, 1),
  };
  const tools: Record<string, { kinds: string[]; call: (image: string) => Promise<Outcome> }> = {
    runner_spawn: {
      kinds: Object.keys(references),
      call: (image) => toolOutcome(attackerClient, "runner_spawn", { image, storage: "tmpfs" }),
    },
    runner_attach: {
      kinds: [
        "local image reference",
        "docker.io qualified name",
        "full sha256: image id",
        "12-character image id prefix",
      ],
      call: (image) => toolOutcome(attackerClient, "runner_attach", { runner: context.attacker.idleWorkspace, image }),
    },
  };
  const rows: Row[] = [];
  for (const [tool, { kinds, call }] of Object.entries(tools)) {
    let missing: Outcome | undefined;
    rows.push({
      group: "foreign image",
      name: `${tool} image: a snapshot image that does not exist (the reference answer)`,
      target: tool,
      send: async () => (missing = await call(MISSING_SNAPSHOT_IMAGE)),
      expected: { tool: { code: "IMAGE_NOT_FOUND", text: MISSING_SNAPSHOT_IMAGE } },
    });
    for (const kind of kinds) {
      const image = references[kind] as string;
      rows.push({
        group: "foreign image",
        name: `${tool} image: the victim's snapshot by ${kind}`,
        target: tool,
        send: () => call(image),
        expected: { sameAs: { input: image, reference: () => ({ input: MISSING_SNAPSHOT_IMAGE, outcome: missing }) } },
        guards: SNAPSHOT_IMAGES,
      });
    }
  }
  return rows;
}
