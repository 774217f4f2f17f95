import { readFile } from "node:fs/promises";
import { AgentError } from "../errors.js";

/** Who a process runs as: ids for setuid/setgid, and the passwd entry's name and home when there is one. */
export interface RunAsUser {
  uid: number;
  gid: number;
  name: string | undefined;
  home: string | undefined;
}

/** The account databases to resolve names in (the runner's own, since the agent runs inside it). */
export interface AccountFiles {
  passwd: string;
  group: string;
}

const SYSTEM_ACCOUNTS: AccountFiles = { passwd: "/etc/passwd", group: "/etc/group" };
const MAX_ID = 2 ** 32 - 2;

/**
 * Resolves `user`, `uid`, `user:group` or `uid:gid` like `docker exec --user`: names through /etc/passwd and
 * /etc/group; a uid with no passwd entry gets gid 0 unless a group is given.
 */
export async function resolveRunAsUser(spec: string, files: AccountFiles = SYSTEM_ACCOUNTS): Promise<RunAsUser> {
  const [userPart = "", groupPart, ...rest] = spec.split(":");
  const outOfRange = [userPart, groupPart ?? ""].some((part) => /^\d+$/.test(part) && !isId(part));
  if (!userPart || groupPart === "" || rest.length > 0 || outOfRange) {
    throw new AgentError(
      "INVALID_ARGUMENT",
      `User "${spec}" is not valid; use a name or uid (up to ${MAX_ID}), optionally with a group: "app", "1000" or "1000:1000".`,
    );
  }
  const passwd = await readAccounts(files.passwd);
  const entry = isId(userPart)
    ? passwd.find((fields) => fields[2] === String(Number(userPart)))
    : passwd.find((fields) => fields[0] === userPart);
  if (!entry && !isId(userPart)) {
    throw new AgentError(
      "NOT_FOUND",
      `User "${userPart}" not found in ${files.passwd} of this runner; pass a numeric uid, or create the user first (useradd ${userPart}).`,
    );
  }
  const uid = isId(userPart) ? Number(userPart) : Number(entry![2]);
  let gid = entry ? Number(entry[3]) : 0;
  if (groupPart !== undefined) gid = isId(groupPart) ? Number(groupPart) : await findGroup(groupPart, files.group);
  return { uid, gid, name: entry?.[0], home: entry?.[5] || undefined };
}

async function findGroup(name: string, path: string): Promise<number> {
  const group = (await readAccounts(path)).find((fields) => fields[0] === name);
  if (!group)
    throw new AgentError(
      "NOT_FOUND",
      `Group "${name}" not found in ${path} of this runner; pass a numeric gid, or create the group first (groupadd ${name}).`,
    );
  return Number(group[2]);
}

function isId(text: string): boolean {
  return /^\d{1,10}$/.test(text) && Number(text) <= MAX_ID;
}

async function readAccounts(path: string): Promise<string[][]> {
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw error;
  }
  return text
    .split("\n")
    .filter((line) => line && !line.startsWith("#"))
    .map((line) => line.split(":"));
}
