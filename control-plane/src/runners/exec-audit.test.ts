import { describe, expect, it } from "vitest";
import { summarizeCommand } from "./exec-audit.js";

const programOf = (command: string | string[]): unknown => summarizeCommand({ command }).program;

describe("summarizeCommand", () => {
  it.each([
    ["id; touch /x", "id"],
    ["FOO=1 make -j4", "make"],
    ["/usr/bin/env python3 x.py", "env"],
    ["'quoted prog' arg", "quoted prog"],
    ["cd /w && make", "cd"],
    ['FOO="a b" BAR=2 ./build.sh', "build.sh"],
    ["ls|wc -l", "ls"],
    ["(cd /w; make)", "cd"],
    ['"/opt/my tools/run" --fast', "run"],
    ["  echo\\;x", "echo;x"],
  ])("names the program of the shell command %j %j", (command, program) => {
    expect(programOf(command)).toBe(program);
  });

  it("takes an argv's first word that is not an assignment, without its directory", () => {
    expect(programOf(["/usr/bin/python3", "-c", "print(1)"])).toBe("python3");
  });

  it("keeps no arguments: only the kind, the program, the length, the cwd and the environment's names", () => {
    expect(summarizeCommand({ command: "curl -H 'Authorization: secret' x", cwd: "/work", env: { TOKEN: "s3cret" } })).toEqual({
      command_kind: "shell",
      program: "curl",
      command_length: 33,
      cwd: "/work",
      env_names: ["TOKEN"],
    });
  });
});
