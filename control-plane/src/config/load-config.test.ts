import { createHash } from "node:crypto";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ConfigError, isImageAllowed, loadConfig, QUOTA_NAMES, type QuotaLimits } from "../config.js";
import { renderConfigTemplate } from "./config-template.js";

const dir = mkdtempSync(join(tmpdir(), "devhatchery-config-test-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let files = 0;
function file(text: string): string {
  const path = join(dir, `config-${files++}.yaml`);
  writeFileSync(path, text);
  return path;
}

const sha256 = (value: string): string => createHash("sha256").update(value).digest("hex");

function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    if (error instanceof ConfigError) return error.problems.map((problem) => `${problem.where}: ${problem.message}`);
    throw error;
  }
  throw new Error("expected a ConfigError");
}

describe("loadConfig with devhatchery.yaml", () => {
  it("takes the file over the defaults and DEVHATCHERY_* variables over the file", () => {
    const path = file(
      "listen:\n  port: 9000\n  host: 127.0.0.2\nlimits:\n  max:\n    cpus: 8\nimages:\n  prepull: [a:1, b:2]\n",
    );
    const config = loadConfig({ HOME: "/home/op", DEVHATCHERY_LISTEN_PORT: "9100" }, path);
    expect(config.listen).toEqual({ host: "127.0.0.2", port: 9100 });
    expect(config.limits.max).toEqual({ cpus: 8, memoryMb: 8192, pids: 16384 });
    expect(config.prepullImages).toEqual(["a:1", "b:2"]);
    expect(loadConfig({ DEVHATCHERY_PREPULL: "c:3" }, path).prepullImages).toEqual(["c:3"]);
  });

  it("reads the path from DEVHATCHERY_CONFIG, and an explicit path wins", () => {
    const path = file("runners:\n  network: from-file\n");
    expect(loadConfig({ DEVHATCHERY_CONFIG: path }).runnerNetwork).toBe("from-file");
    expect(loadConfig({ DEVHATCHERY_CONFIG: "/nonexistent.yaml" }, path).runnerNetwork).toBe("from-file");
  });

  it("keeps only token digests, from plain tokens, token files and token_sha256", () => {
    const tokenFile = join(dir, "ci-token");
    writeFileSync(tokenFile, "ci-token-0123456789abcdef\n");
    const digest = sha256("bob-token-0123456789");
    const path = file(
      `auth:\n  tokens:\n    - { principal: alice, token: alice-token-0123456789 }\n    - { principal: bob, token_sha256: ${digest.toUpperCase()} }\n    - { principal: ci, token_file: ${tokenFile} }\n`,
    );
    expect(loadConfig({}, path).auth).toEqual({
      mode: "bearer",
      tokens: [
        { principal: "alice", tokenSha256: sha256("alice-token-0123456789"), groups: [] },
        { principal: "bob", tokenSha256: digest, groups: [] },
        { principal: "ci", tokenSha256: sha256("ci-token-0123456789abcdef"), groups: [] },
      ],
      oidc: undefined,
    });
  });

  it("lists every problem of a file at once: bad values, unknown keys with a suggestion, and checks across keys", () => {
    const path = file(
      [
        "listen:",
        "  prt: 80",
        "  host: 0.0.0.0",
        "auth:",
        "  tokens:",
        "    - { principal: alice, token: short }",
        "    - { principal: bob }",
        "    - { principal: ci, token_file: /nonexistent/token }",
        "    - { principal: dup, token: alice-token-0123456789 }",
        "    - { principal: dup2, token: alice-token-0123456789 }",
        "limits:",
        "  defaults: { cpus: 8 }",
        "  max: { memory_mb: 32 }",
        "images:",
        '  allowed: ["devhatchery/*"]',
        "port: 3",
        "allowed_roots:",
        "  - { alias: data, path: /srv/data, mode: rx }",
        "log:",
        "  levle: info",
      ].join("\n"),
    );
    expect(problemsOf(() => loadConfig({}, path))).toEqual([
      'listen.prt: is not a known key; did you mean "port"?',
      "auth.tokens[0].token: must be at least 16 characters, got (hidden, 5 characters); generate one with `openssl rand -hex 32`",
      "limits.max.memory_mb: must be at least 64, got 32",
      'allowed_roots[0].mode: must be one of ro, rw, got "rx"',
      'log.levle: is not a known key; did you mean "level"?',
      'port: is not a known key here; did you mean "listen.port"?',
      "auth.tokens[1]: needs exactly one of token, token_file or token_sha256, got none",
      "auth.tokens[2].token_file: cannot be read (ENOENT); create the file or fix the path",
      "auth.tokens[4]: repeats the token of entry 3; give every principal its own token",
      "limits.defaults.cpus: is 8, more than limits.max.cpus (4); lower the default or raise the maximum",
      "limits.defaults.memory_mb: is 2048, more than limits.max.memory_mb (32); lower the default or raise the maximum",
      'images.default: "ubuntu:24.04" is not matched by images.allowed (devhatchery/*); add a pattern for it or pick an allowed image',
    ]);
  });

  it("takes warm pools with their defaults, and names every pool problem with its fix", () => {
    const config = loadConfig(
      {},
      file(
        "images:\n  default: img:1\npools:\n  - { name: warm, min: 2 }\n  - { name: small, image: img:2, memory_mb: 512, max: 4, network: false }\n",
      ),
    );
    expect(config.pools).toEqual([
      {
        name: "warm",
        image: "img:1",
        profile: "default",
        storage: "tmpfs",
        network: true,
        cpus: 2,
        memoryMb: 2048,
        min: 2,
        max: 2,
        idleShrinkAfterS: 600,
      },
      {
        name: "small",
        image: "img:2",
        profile: "default",
        storage: "tmpfs",
        network: false,
        cpus: 2,
        memoryMb: 512,
        min: 1,
        max: 4,
        idleShrinkAfterS: 600,
      },
    ]);
    const path = file(
      [
        "runners:",
        "  profile: hardened",
        "images:",
        '  allowed: ["devhatchery/*"]',
        "  default: devhatchery/runner:1",
        "pools:",
        "  - { name: warm, storage: volume }",
        "  - { name: warm, min: 3, max: 2, memory_mb: 100000, profile: default, image: ubuntu:24.04 }",
        "  - { name: Bad }",
      ].join("\n"),
    );
    expect(problemsOf(() => loadConfig({}, path))).toEqual([
      'pools[2].name: must be 1-32 lower-case letters, digits, "_" or "-", starting with a letter or digit, got "Bad"',
      'pools[0].storage: must be "tmpfs": a pooled runner\'s /work is mounted before anyone claims it, so it cannot be the claimer\'s workspace volume; spawns with storage "volume" (the default) start cold',
      'pools[1].name: "warm" is listed twice; give each pool its own name',
      "pools[1].max: is 2, below min (3); raise max or lower min",
      "pools[1].memory_mb: is 100000, above limits.max.memory_mb (8192); no claim could use it",
      'pools[1].profile: is "default" but runners.profile is "hardened": every runner must be hardened; omit profile or set it to "hardened"',
      'pools[1].image: "ubuntu:24.04" is not matched by images.allowed (devhatchery/*); add a pattern for it or pick an allowed image',
    ]);
  });

  it("checks OIDC settings and policies, every problem with its fix", () => {
    const path = file(
      [
        "auth:",
        "  mode: oidc",
        "  oidc:",
        "    audience: devhatchery",
        "    introspection_client_id: devhatchery",
        "allowed_roots:",
        "  - { alias: data, path: /srv/data }",
        "policies:",
        "  - { name: readers, tools: [reed, exec_raed] }",
        "  - { name: readers, mounts: [data:rw, scratch] }",
        "  - { name: deny }",
        "  - { name: Bad Name }",
      ].join("\n"),
    );
    expect(problemsOf(() => loadConfig({}, path))).toEqual([
      'policies[3].name: must be 1-64 lower-case letters, digits, "_" or "-", got "Bad Name"',
      'auth.oidc.issuer: is required with auth.mode "oidc"; set it (or DEVHATCHERY_OIDC_ISSUER), e.g. https://id.example.com/realms/dev',
      'auth.oidc.resource: is required when auth.oidc.audience ("devhatchery") is not a URL: set it to the public URL of /mcp that clients use, e.g. https://devhatchery.example.com/mcp',
      "auth.oidc.introspection_secret_file: is needed too: introspection takes both introspection_client_id and introspection_secret_file (or neither, to accept JWT access tokens only)",
      'default_policy: is required with auth.mode "oidc": everyone the provider knows could get in; name the policy of callers no policy names ("deny" to refuse them, "unrestricted", or one of policies), or set DEVHATCHERY_DEFAULT_POLICY',
      'policies[0].tools[0]: "reed" is neither a tool nor a tool set; did you mean "read"? (sets: all, read, exec, write, lifecycle, export, jobs)',
      'policies[0].tools[1]: "exec_raed" is neither a tool nor a tool set; did you mean "exec_read"? (sets: all, read, exec, write, lifecycle, export, jobs)',
      'policies[1].name: "readers" is defined twice; give each policy its own name',
      'policies[1].mounts[0]: asks for rw, but allowed root "data" is read-only; use "data" or "data:ro", or make the root rw',
      'policies[1].mounts[1]: names alias "scratch", which allowed_roots does not list (aliases: data); add the root or remove the entry',
      'policies[2].name: "deny" is a built-in policy; give yours another name',
    ]);
    expect(problemsOf(() => loadConfig({ DEVHATCHERY_DEFAULT_POLICY: "writers" }, file("policies: []\n")))).toEqual([
      'DEVHATCHERY_DEFAULT_POLICY: "writers" is not a policy; use one of "unrestricted", "deny"',
    ]);
  });

  it("maps OIDC settings and policies, the resource defaulting to a URL audience", () => {
    const path = file(
      [
        "auth:",
        "  mode: oidc",
        "  oidc: { issuer: https://id.example.com/realms/dev, audience: https://dh.example.com/mcp, scopes: [mcp] }",
        "policies:",
        "  - { name: devs, groups: [dev], max_cpus: 1, mounts: [data:ro, out], network: false, tools: [read, exec] }",
        "allowed_roots:",
        "  - { alias: data, path: /srv/data }",
        "  - { alias: out, path: /srv/out, mode: rw }",
        "default_policy: deny",
      ].join("\n"),
    );
    const config = loadConfig({}, path);
    expect(config.auth.oidc).toMatchObject({
      issuer: "https://id.example.com/realms/dev",
      audience: "https://dh.example.com/mcp",
      resource: "https://dh.example.com/mcp",
      scopes: ["mcp"],
      principalClaim: "sub",
      groupsClaim: "groups",
      clockSkewS: 30,
      jwksCooldownMs: 30_000,
      introspection: undefined,
    });
    expect(config.policies[0]).toMatchObject({
      name: "devs",
      groups: ["dev"],
      maxCpus: 1,
      mounts: [
        { alias: "data", mode: "ro" },
        { alias: "out", mode: undefined },
      ],
      network: false,
      tools: ["read", "exec"],
    });
    expect(config.defaultPolicy).toBe("deny");
    expect(loadConfig({}).defaultPolicy).toBe("unrestricted");
  });

  it("maps every quota from quotas.*, its DEVHATCHERY_QUOTA_* variable and a policy's quota_* key", () => {
    const quotas = Object.entries(QUOTA_NAMES) as Array<[keyof QuotaLimits, string]>;
    const path = file(
      [
        "quotas:",
        ...quotas.map(([, name], index) => `  ${name}: ${index + 1}`),
        "policies:",
        `  - { name: devs, principals: [alice], ${quotas.map(([, name], index) => `quota_${name}: ${index + 10}`).join(", ")} }`,
      ].join("\n"),
    );
    const config = loadConfig({}, path);
    expect(config.quotas).toEqual(Object.fromEntries(quotas.map(([key], index) => [key, index + 1])));
    expect(config.policies[0]!.quotas).toEqual(Object.fromEntries(quotas.map(([key], index) => [key, index + 10])));
    for (const [key, name] of quotas)
      expect(loadConfig({ [`DEVHATCHERY_QUOTA_${name.toUpperCase()}`]: "7" }, path).quotas[key]).toBe(7);
  });

  it("defaults jobs to four at once, 300 s, and the built-in shell profile in the default image", () => {
    const config = loadConfig({ HOME: "/h" });
    expect(config.jobs).toEqual({
      maxConcurrent: 4,
      maxQueued: 100,
      defaultTimeoutS: 300,
      maxTimeoutS: 3600,
      keepForS: 600,
      outputMaxMb: 64,
      retentionS: 604_800,
      secrets: [],
      profiles: [
        {
          name: "shell",
          description: "The task is a shell script, run by /bin/sh -lc in /work.",
          image: config.defaultImage,
          command: ["/bin/sh", "-lc", "{task}"],
          result: "file",
          timeoutS: 300,
          network: true,
          env: {},
          secrets: [],
        },
      ],
    });
    const shell = loadConfig({}, file("images:\n  default: img:1\njobs:\n  default_timeout_s: 120\n")).jobs.profiles[0];
    expect(shell).toMatchObject({ name: "shell", image: "img:1", timeoutS: 120 });
  });

  it("takes operator job profiles and secrets with their defaults, after the built-in shell", () => {
    const path = file(
      [
        "images:",
        "  default: img:1",
        "jobs:",
        "  max_concurrent: 2",
        "  default_timeout_s: 900",
        "  secrets:",
        '    - { name: anthropic, file: /etc/devhatchery/anthropic, principals: ["*"] }',
        "  profiles:",
        "    - name: claude-code",
        "      description: Claude Code, headless",
        "      image: img:claude",
        '      command: [devhatchery-claude-job, "--task-file={task_file}"]',
        "      result: stdout_json",
        "      timeout_s: 1800",
        "      network: false",
        "      env: { CLAUDE_MODEL: opus }",
        "      secrets: [{ name: ANTHROPIC_API_KEY, from: anthropic }, { name: GITHUB_TOKEN }]",
        "    - { name: plain, command: [run-agent] }",
      ].join("\n"),
    );
    const jobs = loadConfig({}, path).jobs;
    expect(jobs.maxConcurrent).toBe(2);
    expect(jobs.secrets).toEqual([{ name: "anthropic", file: "/etc/devhatchery/anthropic", principals: ["*"] }]);
    expect(jobs.profiles.map((profile) => profile.name)).toEqual(["shell", "claude-code", "plain"]);
    expect(jobs.profiles.slice(1)).toEqual([
      {
        name: "claude-code",
        description: "Claude Code, headless",
        image: "img:claude",
        command: ["devhatchery-claude-job", "--task-file={task_file}"],
        result: "stdout_json",
        timeoutS: 1800,
        network: false,
        env: { CLAUDE_MODEL: "opus" },
        secrets: [
          { name: "ANTHROPIC_API_KEY", from: "anthropic" },
          { name: "GITHUB_TOKEN", from: undefined },
        ],
      },
      {
        name: "plain",
        description: undefined,
        image: "img:1",
        command: ["run-agent"],
        result: "file",
        timeoutS: 900,
        network: true,
        env: {},
        secrets: [],
      },
    ]);
  });

  it('lets an operator profile named "shell" replace the built-in one', () => {
    const path = file('jobs:\n  profiles:\n    - { name: shell, image: img:sh, command: [/bin/bash, -c, "{task}"] }\n');
    expect(loadConfig({}, path).jobs.profiles).toEqual([
      {
        name: "shell",
        description: undefined,
        image: "img:sh",
        command: ["/bin/bash", "-c", "{task}"],
        result: "file",
        timeoutS: 300,
        network: true,
        env: {},
        secrets: [],
      },
    ]);
  });

  it("names every jobs problem with its fix", () => {
    const path = file(
      [
        "images:",
        '  allowed: ["devhatchery/*"]',
        "  default: devhatchery/runner:1",
        "jobs:",
        "  default_timeout_s: 7200",
        "  max_timeout_s: 3600",
        "  secrets:",
        '    - { name: anthropic, file: /etc/devhatchery/anthropic, principals: ["*"] }',
        "    - { name: anthropic, file: /etc/devhatchery/other, principals: [alice] }",
        "  profiles:",
        "    - name: claude",
        '      command: [claude, "{tsk}", "--out={result_file}"]',
        "      secrets: [{ name: ANTHROPIC_API_KEY, from: anthropic }, { name: GITHUB_TOKEN, from: github }]",
        "    - { name: claude, command: [agent], image: ubuntu:24.04 }",
        "    - { name: allowed, command: [agent], image: devhatchery/agent:1 }",
      ].join("\n"),
    );
    expect(problemsOf(() => loadConfig({}, path))).toEqual([
      'jobs.secrets[1].name: "anthropic" is listed twice; give each secret its own name',
      "jobs.profiles[0].command[1]: has the unknown placeholder {tsk}; use one of {task}, {task_file}, {result_file}, {secrets_dir}, {work}, {job_id}",
      'jobs.profiles[0].secrets[1].from: names "github", which is not in jobs.secrets; add it there (name and file) or drop from',
      'jobs.profiles[1].name: "claude" is listed twice; give each profile its own name',
      'jobs.profiles[1].image: "ubuntu:24.04" is not matched by images.allowed (devhatchery/*); add a pattern for it or pick an allowed image',
      "jobs.default_timeout_s: is 7200, above jobs.max_timeout_s (3600); lower it or raise max_timeout_s",
    ]);
  });

  it("names the variable for a bad value that came from the environment", () => {
    const path = file("limits:\n  max:\n    memory_mb: 4096\n");
    expect(problemsOf(() => loadConfig({ DEVHATCHERY_MAX_MEMORY_MB: "12x" }, path))).toEqual([
      'DEVHATCHERY_MAX_MEMORY_MB: must be a number, got "12x"',
    ]);
  });

  it("refuses a named file that is missing, YAML that does not parse and a file that is not a mapping", () => {
    expect(problemsOf(() => loadConfig({}, join(dir, "missing.yaml")))).toEqual([
      `${join(dir, "missing.yaml")}: cannot be read (ENOENT); write one with \`devhatchery init ${join(dir, "missing.yaml")}\`, or fix --config / DEVHATCHERY_CONFIG`,
    ]);
    const broken = file("listen:\n  host: [1\n");
    expect(problemsOf(() => loadConfig({}, broken))).toEqual([
      `${broken}:3:1: Flow sequence in block collection must be sufficiently indented and end with a ]; fix the YAML syntax`,
    ]);
    const list = file("- a\n- b\n");
    expect(problemsOf(() => loadConfig({}, list))).toEqual([
      `${list}: must hold a YAML mapping of sections (listen:, auth:, images:, …); \`devhatchery init\` writes a template`,
    ]);
  });

  it("treats an empty file and keys without a value as not set", () => {
    expect(loadConfig({ HOME: "/h" }, file(""))).toEqual(loadConfig({ HOME: "/h" }));
    expect(loadConfig({ HOME: "/h" }, file("state:\nlisten:\n  port:\n"))).toEqual(loadConfig({ HOME: "/h" }));
  });

  it("writes a template that validates and holds exactly the defaults", () => {
    expect(loadConfig({ HOME: "/h" }, file(renderConfigTemplate()))).toEqual(loadConfig({ HOME: "/h" }));
  });

  it("derives the instance from the state folder unless one is named, and ignores unlabelled objects unless told", () => {
    const derived = loadConfig({ HOME: "/h", DEVHATCHERY_STATE_DIR: "/srv/one" }).instance;
    expect(derived).toEqual({
      name: createHash("sha256").update("/srv/one").digest("hex").slice(0, 12),
      adoptUnlabelled: false,
    });
    expect(loadConfig({ HOME: "/h", DEVHATCHERY_STATE_DIR: "/srv/two" }).instance.name).not.toBe(derived.name);
    expect(loadConfig({ HOME: "/h" }).instance.name).toBe(
      createHash("sha256").update("/h/.local/state/devhatchery").digest("hex").slice(0, 12),
    );
    expect(loadConfig({ DEVHATCHERY_INSTANCE: "team-a", DEVHATCHERY_UNLABELLED_OBJECTS: "adopt" }).instance).toEqual({
      name: "team-a",
      adoptUnlabelled: true,
    });
    expect(loadConfig({}, file("state:\n  instance: team-b\n")).instance.name).toBe("team-b");
    expect(
      problemsOf(() => loadConfig({ DEVHATCHERY_INSTANCE: "a/b", DEVHATCHERY_UNLABELLED_OBJECTS: "yes" })),
    ).toEqual([
      'DEVHATCHERY_INSTANCE: must be 1-32 letters, digits, ".", "_" or "-", got "a/b"',
      'DEVHATCHERY_UNLABELLED_OBJECTS: must be one of ignore, adopt, got "yes"',
    ]);
  });

  it("turns the audit destination off, or passes a stream or an absolute path on", () => {
    expect(loadConfig({}).auditLog).toBeUndefined();
    expect(loadConfig({ DEVHATCHERY_AUDIT_LOG: "stderr" }).auditLog).toBe("stderr");
    expect(loadConfig({}, file("log:\n  audit: /var/log/devhatchery-audit.jsonl\n")).auditLog).toBe(
      "/var/log/devhatchery-audit.jsonl",
    );
    expect(problemsOf(() => loadConfig({ DEVHATCHERY_AUDIT_LOG: "audit.log" }))).toEqual([
      'DEVHATCHERY_AUDIT_LOG: must be "stderr", "stdout", "off" or an absolute file path, got "audit.log"',
    ]);
  });
});

describe("image pull settings", () => {
  it("defaults to pulling missing images from docker.io and the registries the operator's images name, ids refused", () => {
    const path = file(
      "images:\n  default: 127.0.0.1:5000/team/runner:1\n  prepull: [registry.example.com/tool:2, ubuntu:24.04]\n",
    );
    const config = loadConfig({ HOME: "/home/op" }, path);
    expect([config.imagePull, config.imageRegistries, config.allowIdReferences]).toEqual([
      "missing",
      ["docker.io", "127.0.0.1:5000", "registry.example.com"],
      false,
    ]);
    const overridden = loadConfig({
      HOME: "/home/op",
      DEVHATCHERY_IMAGE_PULL: "never",
      DEVHATCHERY_IMAGE_REGISTRIES: "docker.io,127.0.0.1:5000",
      DEVHATCHERY_ALLOW_ID_REFERENCES: "true",
    });
    expect([overridden.imagePull, overridden.imageRegistries, overridden.allowIdReferences]).toEqual([
      "never",
      ["docker.io", "127.0.0.1:5000"],
      true,
    ]);
  });

  it("refuses a pull policy, a registry and a boolean it does not know, and images from registries it does not list", () => {
    const path = file("images:\n  default: registry.example.com/runner:1\n  registries: [docker.io]\n");
    expect(
      problemsOf(() =>
        loadConfig({ DEVHATCHERY_IMAGE_PULL: "sometimes", DEVHATCHERY_ALLOW_ID_REFERENCES: "yes" }, path),
      ),
    ).toEqual([
      expect.stringMatching(/^DEVHATCHERY_IMAGE_PULL: /),
      expect.stringMatching(/^DEVHATCHERY_ALLOW_ID_REFERENCES: /),
      'images.default: "registry.example.com/runner:1" is from registry "registry.example.com", which images.registries (docker.io) does not list; add it there or pick another image',
    ]);
  });
});

describe("isImageAllowed", () => {
  it.each([
    [[], "anything:1", true],
    [["devhatchery/*"], "devhatchery/runner:latest", true],
    [["devhatchery/*"], "evil/devhatchery/runner", false],
    [["ubuntu:24.04"], "ubuntu:24.04", true],
    [["ubuntu:24.04"], "ubuntu:24.10", false],
    [["ubuntu@sha256:*"], "ubuntu@sha256:abc", true],
    [["ubuntu@sha256:*"], "ubuntu:latest", false],
  ])("%j admits %s: %s", (patterns, image, expected) => {
    expect(isImageAllowed(image, patterns)).toBe(expected);
  });
});
