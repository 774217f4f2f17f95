import { constants } from "node:fs";
import { access, stat } from "node:fs/promises";
import { isAbsolute, join, resolve } from "node:path";

/** The file `program` names, searched in PATH like execvp(3); rejects with ENOENT or EACCES like it would. */
export async function findProgram(program: string, path: string, cwd: string): Promise<string> {
  if (program.includes("/")) {
    const file = isAbsolute(program) ? program : resolve(cwd, program);
    await assertExecutable(file);
    return file;
  }
  let denied: unknown;
  for (const dir of path.split(":")) {
    const file = join(resolve(cwd, dir || "."), program);
    try {
      await assertExecutable(file);
      return file;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "EACCES") denied = error;
    }
  }
  throw denied ?? Object.assign(new Error(`${program}: not found in PATH`), { code: "ENOENT" });
}

async function assertExecutable(file: string): Promise<void> {
  if ((await stat(file)).isDirectory()) throw Object.assign(new Error(`${file} is a directory`), { code: "EACCES" });
  await access(file, constants.X_OK);
}
