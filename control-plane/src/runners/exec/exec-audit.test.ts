import { describe, expect, it } from "vitest";
import { summarizeCommand } from "./exec-audit.js";

const programOf = (command: string | string[]): unknown => summarizeCommand({ command }).program;

describe("summarizeCommand", () => {
  it.each([
    ["id; touch /x", "id"],
    ["FOO=1 make -j4", "make"],
    ["/usr/bin/env python3 x.py", "env"],
    ["'quoted prog' arg", "(redacted)"],
    ["cd /w && make", "cd"],
    ['FOO="a b" BAR=2 ./build.sh', "build.sh"],
    ["ls|wc -l", "ls"],
    ["(cd /w; make)", "cd"],
    ['"/opt/my tools/run" --fast', "run"],
    ["  echo\\;x", "(redacted)"],
  ])("names the program of the shell command %j %j", (command, program) => {
    expect(programOf(command)).toBe(program);
  });

  it("takes an argv's first word that is not an assignment, without its directory", () => {
    expect(programOf(["/usr/bin/python3", "-c", "print(1)"])).toBe("python3");
  });

  it("keeps no arguments: only the kind, the program, the length, the cwd and the environment's names", () => {
    expect(
      summarizeCommand({ command: "curl -H 'Authorization: secret' x", cwd: "/work", env: { TOKEN: "s3cret" } }),
    ).toEqual({
      command_kind: "shell",
      program: "curl",
      command_length: 33,
      cwd: "/work",
      env_names: ["TOKEN"],
    });
  });
});

describe("summarizeCommand with a secret where the program should be", () => {
  it.each([
    ["ghp_abc123DEF456ghi789JKL012mno345PQR678 --help"],
    ["ghp_abc123 --help"],
    ["github_pat_11ABCDEFG0123456789_abcdefghijklmnop"],
    ["sk-proj-Abc123 run"],
    ["AKIAIOSFODNN7EXAMPLE"],
    ["xoxb-123-456-abc"],
    ["glpat-abcdefghij1234567890"],
    ["eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl"],
    ["s3cr3tP4ssw0rd --flag"],
    ["--password=hunter2 make"],
    ["'token: hunter2' ls"],
    ["0123456789abcdef0123456789abcdef0123"],
    ["a".repeat(65)],
  ])("records a placeholder, not the first word, for %j", (command) => {
    const summary = summarizeCommand({ command });
    expect(summary.program).toBe("(redacted)");
    expect(JSON.stringify(summary)).not.toMatch(/hunter2|ghp_|AKIA|xoxb|glpat|eyJ|s3cr3t|abc123|0123456789/);
  });

  it.each([
    ["API_KEY=xyz cmd", "cmd"],
    ["API_KEY=ghp_abc123DEF456ghi789 GH_TOKEN='a b' ./deploy.sh --prod", "deploy.sh"],
    ["API_KEY=xyz", ""],
    ["TOKEN=ghp_abc123 ghp_abc123 --help", "(redacted)"],
  ])("never records the values of NAME=value prefixes: %j → %j", (command, program) => {
    const summary = summarizeCommand({ command });
    expect(summary.program).toBe(program);
    expect(JSON.stringify(summary)).not.toMatch(/xyz|ghp_|a b/);
  });

  it("applies the same rule to an argv", () => {
    expect(summarizeCommand({ command: ["ghp_abc123DEF456", "--help"] }).program).toBe("(redacted)");
    expect(summarizeCommand({ command: ["API_KEY=xyz", "/usr/local/bin/cmd", "x"] }).program).toBe("cmd");
  });

  it.each([
    "python3",
    "node",
    "gcc-12",
    "clang++",
    "x86_64-linux-gnu-gcc",
    "2to3-3.12",
    "sha256sum",
    "ld.so",
    "libreoffice24.8",
    "npm",
    "make",
    "[",
    "7z",
  ])("keeps an ordinary program name %j", (program) => {
    expect(programOf(`${program} --version`)).toBe(program);
  });
});
