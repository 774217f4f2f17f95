import { describe, expect, it } from "vitest";
import type { JobProfileConfig } from "../config.js";
import { ControlPlaneError } from "../errors.js";
import {
  agentCommand,
  checkRepositoryUrl,
  credentialLine,
  jobEnvironment,
  parseNameStatus,
  parseStdoutJson,
  RESULT_FILE,
  SECRETS_DIR,
  TASK_FILE,
  WORK_DIR,
} from "./job-paths.js";

const JOB_ID = "j-0123456789ab";

function profile(command: string[]): JobProfileConfig {
  return {
    name: "agent",
    description: undefined,
    image: "devhatchery/runner:dev",
    command,
    result: "file",
    timeoutS: 300,
    network: true,
    env: {},
    secrets: [],
  };
}

function refusal(url: string): ControlPlaneError {
  try {
    checkRepositoryUrl(url);
  } catch (error) {
    expect(error).toBeInstanceOf(ControlPlaneError);
    return error as ControlPlaneError;
  }
  throw new Error(`checkRepositoryUrl("${url}") should have refused it`);
}

describe("agentCommand", () => {
  it("fills every placeholder, also inside a word and more than once", () => {
    const command = agentCommand(
      profile([
        "agent",
        "--task={task}",
        "{task_file}",
        "--result={result_file}",
        "{secrets_dir}/KEY",
        "{work}",
        "{job_id}-{job_id}",
      ]),
      JOB_ID,
      "fix the build",
    );
    expect(command).toEqual([
      "agent",
      "--task=fix the build",
      TASK_FILE,
      `--result=${RESULT_FILE}`,
      `${SECRETS_DIR}/KEY`,
      WORK_DIR,
      `${JOB_ID}-${JOB_ID}`,
    ]);
    expect([TASK_FILE, RESULT_FILE, SECRETS_DIR, WORK_DIR]).toEqual([
      "/dev/shm/devhatchery-job/task.md",
      "/work/.devhatchery/result.json",
      "/dev/shm/devhatchery-job/secrets",
      "/work",
    ]);
  });

  it("leaves unknown placeholders and other braces as they are", () => {
    expect(agentCommand(profile(["run", "{tsk}", "{TASK}", "{}", "${HOME}", "{ task }"]), JOB_ID, "t")).toEqual([
      "run",
      "{tsk}",
      "{TASK}",
      "{}",
      "${HOME}",
      "{ task }",
    ]);
  });

  it("passes the task verbatim as one word: braces, placeholders, replacement patterns and shell syntax untouched", () => {
    const task = "echo {job_id} {work} $& $1 $$ `id` $(rm -rf /) ; 'quoted' \"double\" | tee x &&\nsecond line";
    expect(agentCommand(profile(["/bin/sh", "-lc", "{task}"]), JOB_ID, task)).toEqual(["/bin/sh", "-lc", task]);
  });
});

describe("jobEnvironment", () => {
  it("holds only the job id and the job's paths", () => {
    expect(jobEnvironment(JOB_ID)).toEqual({
      DEVHATCHERY_JOB_ID: JOB_ID,
      DEVHATCHERY_TASK_FILE: TASK_FILE,
      DEVHATCHERY_RESULT_FILE: RESULT_FILE,
      DEVHATCHERY_SECRETS_DIR: SECRETS_DIR,
    });
  });
});

describe("checkRepositoryUrl", () => {
  it.each([
    "https://github.com/devhatchery/devhatchery.git",
    "http://127.0.0.1:8080/repo.git",
    "git://git.example.com/project",
    "HTTPS://Example.com/Repo",
  ])("accepts %s", (url) => {
    expect(checkRepositoryUrl(url)).toBeInstanceOf(URL);
  });

  it("returns the parsed URL, port included", () => {
    expect(checkRepositoryUrl("https://git.example.com:8443/team/repo.git")).toMatchObject({
      protocol: "https:",
      host: "git.example.com:8443",
      pathname: "/team/repo.git",
    });
  });

  it.each([
    ["ssh://git@github.com/org/repo.git", "ssh"],
    ["file:///srv/git/repo.git", "file"],
    ["ext::sh -c touch% /tmp/pwned", "ext"],
    ["ftp://example.com/repo", "ftp"],
  ])("refuses %s, naming its scheme and what can be cloned", (url, scheme) => {
    const error = refusal(url);
    expect([error.code, error.message]).toEqual([
      "INVALID_ARGUMENT",
      `repository.url uses ${scheme}; only https, http and git URLs can be cloned (ssh keys and local paths are not supported).`,
    ]);
  });

  it.each(["../repo", "/srv/git/repo.git", "git@github.com:org/repo.git", ""])(
    "refuses %j as not a URL, saying what to give",
    (url) => {
      const error = refusal(url);
      expect([error.code, error.message]).toEqual([
        "INVALID_ARGUMENT",
        `repository.url "${url}" is not a URL; give an https://, http:// or git:// URL of the repository.`,
      ]);
    },
  );

  it.each(["https://user:hunter22@github.com/org/repo.git", "https://ghp_token@github.com/org/repo.git"])(
    "refuses %s, which carries credentials, pointing at repository.credential",
    (url) => {
      const error = refusal(url);
      expect([error.code, error.message]).toEqual([
        "INVALID_ARGUMENT",
        "repository.url carries credentials; put the password or token in a secret and name it in repository.credential (it would otherwise end up in logs and in .git/config).",
      ]);
      expect(error.message).not.toContain("hunter22");
      expect(error.message).not.toContain("ghp_token");
    },
  );
});

describe("credentialLine", () => {
  it("writes scheme, user, password and host, dropping the path", () => {
    expect(credentialLine(new URL("https://github.com/org/repo.git"), "git", "ghp_abc123")).toBe(
      "https://git:ghp_abc123@github.com\n",
    );
  });

  it("keeps a non-default port", () => {
    expect(credentialLine(new URL("http://127.0.0.1:8080/repo.git"), "bot", "pw")).toBe(
      "http://bot:pw@127.0.0.1:8080\n",
    );
  });

  it("percent-encodes user and password so git decodes them back exactly", () => {
    const username = "ci@example.com";
    const password = "p@ss:w/rd %41+x";
    const line = credentialLine(new URL("https://git.example.com:8443/r.git"), username, password);
    expect(line).toBe("https://ci%40example.com:p%40ss%3Aw%2Frd%20%2541%2Bx@git.example.com:8443\n");
    // git's credential store splits at the first ":" and the last "@", then decodes every %XX.
    const userinfo = line.slice("https://".length, line.lastIndexOf("@"));
    const [user, pass] = [userinfo.slice(0, userinfo.indexOf(":")), userinfo.slice(userinfo.indexOf(":") + 1)];
    expect([decodeURIComponent(user), decodeURIComponent(pass)]).toEqual([username, password]);
  });

  it("keeps the whole line on one line whatever the password holds", () => {
    const line = credentialLine(new URL("https://example.com/r"), "git", "a\nb\r\n");
    expect(line.indexOf("\n")).toBe(line.length - 1);
    expect(line).not.toContain("\r");
  });
});

describe("parseNameStatus", () => {
  it("reads added, modified, deleted and type-changed files", () => {
    expect(parseNameStatus("A\0src/new.ts\0M\0README.md\0D\0old.txt\0T\0link\0")).toEqual([
      { status: "A", path: "src/new.ts" },
      { status: "M", path: "README.md" },
      { status: "D", path: "old.txt" },
      { status: "T", path: "link" },
    ]);
  });

  it("reads renames and copies with their score, old path first", () => {
    expect(parseNameStatus("R100\0old/name.ts\0new/name.ts\0C075\0src/a.ts\0src/b.ts\0M\0c.ts\0")).toEqual([
      { status: "R", path: "new/name.ts", previousPath: "old/name.ts" },
      { status: "C", path: "src/b.ts", previousPath: "src/a.ts" },
      { status: "M", path: "c.ts" },
    ]);
  });

  it("keeps spaces, tabs and newlines in paths, since -z does not quote them", () => {
    expect(parseNameStatus("A\0docs/read me.md\0R087\0a\tb\0line\nbreak.txt\0")).toEqual([
      { status: "A", path: "docs/read me.md" },
      { status: "R", path: "line\nbreak.txt", previousPath: "a\tb" },
    ]);
  });

  it("reads no changes as no files", () => {
    expect(parseNameStatus("")).toEqual([]);
  });
});

describe("parseStdoutJson", () => {
  it("takes the whole output when it is one JSON document, also across lines", () => {
    expect(parseStdoutJson('{"summary":"done","files":2}\n')).toEqual({ result: { summary: "done", files: 2 } });
    expect(parseStdoutJson('{\n  "summary": "done"\n}\n')).toEqual({ result: { summary: "done" } });
    expect(parseStdoutJson("42")).toEqual({ result: 42 });
  });

  it("takes the last JSON line after log lines", () => {
    expect(parseStdoutJson('starting\n{"progress":1}\nworking…\r\n{"result":"ok"}\r\n')).toEqual({
      result: { result: "ok" },
    });
    expect(parseStdoutJson("log line\n[1, 2]\n")).toEqual({ result: [1, 2] });
  });

  it("skips a last line that only looks like JSON for the one before it", () => {
    expect(parseStdoutJson('{"result":"ok"}\n{ not json\n')).toEqual({ result: { result: "ok" } });
  });

  it("reports an empty output", () => {
    expect(parseStdoutJson(" \n\t\n")).toEqual({
      error: "the agent printed nothing on stdout; a JSON document was expected",
    });
  });

  it("reports output without a JSON document", () => {
    const error = { error: "the agent's stdout holds no JSON document (whole, or as its last JSON line)" };
    expect(parseStdoutJson("Error: rate limited\nbye\n")).toEqual(error);
    expect(parseStdoutJson("{ broken\n[also broken\n")).toEqual(error);
    expect(parseStdoutJson("log\n42\n")).toEqual(error);
  });
});
