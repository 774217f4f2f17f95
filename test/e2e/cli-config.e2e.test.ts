import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import {
  formatWarnings,
  hardeningWarnings,
  mountHolding,
  readHostFacts,
} from "../../control-plane/src/cli/host-hardening-checks.js";
import type { AllowedRoot } from "../../control-plane/src/config.js";
import { docker } from "../../control-plane/test/docker-cleanup.js";
import { runDevhatchery } from "./cli-process.js";

const dir = mkdtempSync(join(tmpdir(), "devhatchery-cli-config-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What validate must warn about on this host, from the same facts it reads (the engine's options through the API). */
async function expectedWarnings(roots: AllowedRoot[]): Promise<string> {
  const info = (await docker.info()) as { SecurityOptions?: string[] };
  const warnings = hardeningWarnings(roots, readHostFacts(info.SecurityOptions ?? []));
  return warnings.length > 0 ? formatWarnings(warnings) : "";
}

/** Keeps state and exports of the CLI under the test's folder. */
const home = { HOME: dir, XDG_STATE_HOME: join(dir, "state"), XDG_CACHE_HOME: join(dir, "cache") };

describe("devhatchery init and validate", () => {
  it("writes a template that validates, and refuses to overwrite it without --force", async () => {
    const path = join(dir, "devhatchery.yaml");
    const init = await runDevhatchery(["init", path], home);
    expect(init).toEqual({
      code: 0,
      stdout: `Wrote ${path}. Edit it, then run: devhatchery validate --config ${path}\n`,
      stderr: "",
    });
    expect(readFileSync(path, "utf8")).toContain("# devhatchery.yaml: the DevHatchery control plane's configuration.");

    const validate = await runDevhatchery(["validate", "--config", path], home);
    expect(validate.stderr).toBe(await expectedWarnings([]));
    expect(validate.code).toBe(0);
    expect(validate.stdout).toBe(
      [
        `OK: ${path} is valid.`,
        "  listen   http://127.0.0.1:8080/mcp, auth none",
        "  docker   reachable at Docker's default endpoint",
        "  images   default ubuntu:24.04; prepull none; allowed any; pull missing from docker.io",
        "  roots    none",
        `  state    ${join(dir, "state", "devhatchery")}; exports ${join(dir, "state", "devhatchery", "exports")}`,
        "  audit    off",
        "",
      ].join("\n"),
    );

    // serve creates a missing audit log folder (parents included): validate accepts it and says so.
    const auditLog = join(dir, "logs", "devhatchery", "audit.log");
    const withAudit = await runDevhatchery(["validate", "--config", path], {
      ...home,
      DEVHATCHERY_AUDIT_LOG: auditLog,
    });
    expect(withAudit.stderr).toBe(await expectedWarnings([]));

    // An rw root: validate warns (stderr, exit 0) when its filesystem allows setuid, naming the mount and the fix.
    mkdirSync(join(dir, "rw-root"));
    const rwRoot = { alias: "out", hostPath: join(dir, "rw-root"), allowRw: true };
    const withRoot = await runDevhatchery(["validate", "--config", path], {
      ...home,
      DEVHATCHERY_ALLOWED_ROOTS: `out=${rwRoot.hostPath}:rw`,
    });
    expect(withRoot.code).toBe(0);
    expect(withRoot.stderr).toBe(await expectedWarnings([rwRoot]));
    const rootMount = mountHolding(realpathSync(rwRoot.hostPath), readFileSync("/proc/self/mountinfo", "utf8"));
    if (!rootMount?.options.includes("nosuid"))
      expect(withRoot.stderr).toContain(
        `! allowed_roots[0].path: the rw root "${rwRoot.hostPath}" (alias "out") is on the mount`,
      );
    expect(withAudit.code).toBe(0);
    expect(withAudit.stdout).toContain(
      `\n  audit    ${auditLog} (its folder ${join(dir, "logs", "devhatchery")} will be created)\n`,
    );

    const again = await runDevhatchery(["init", path], home);
    expect(again).toEqual({
      code: 1,
      stdout: "",
      stderr: `devhatchery init: cannot write "${path}" (EEXIST); pass --force to overwrite it, or choose another path.\n`,
    });
    expect((await runDevhatchery(["init", path, "--force"], home)).code).toBe(0);
  });

  it("lists every problem of a broken file with its fix and exits 1", async () => {
    const path = join(dir, "broken.yaml");
    writeFileSync(
      path,
      [
        "listen:",
        "  prot: 80",
        "auth:",
        "  mode: bearer",
        "limits:",
        "  max:",
        "    memory_mb: 32",
        "runners:",
        "  profile: paranoid",
      ].join("\n"),
    );
    const result = await runDevhatchery(["validate", "--config", path], { ...home, DEVHATCHERY_LISTEN_PORT: "eighty" });
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(
      [
        `Invalid configuration in ${path} + DEVHATCHERY_LISTEN_PORT: 6 problems`,
        '  ✗ DEVHATCHERY_LISTEN_PORT: must be a number, got "eighty"',
        '  ✗ listen.prot: is not a known key; did you mean "port"?',
        '  ✗ runners.profile: must be one of default, hardened, got "paranoid"',
        "  ✗ limits.max.memory_mb: must be at least 64, got 32",
        '  ✗ auth.tokens: auth "bearer" needs at least one token; each entry needs a principal and one of token, token_file or token_sha256',
        "  ✗ limits.defaults.memory_mb: is 2048, more than limits.max.memory_mb (32); lower the default or raise the maximum",
        "",
      ].join("\n"),
    );
    expect(result.code).toBe(1);
  });

  it("reports host paths that do not exist", async () => {
    const path = join(dir, "paths.yaml");
    const auditLog = join(path, "logs", "audit.log");
    writeFileSync(
      path,
      `allowed_roots:\n  - { alias: data, path: ${join(dir, "no-such-folder")} }\nstate:\n  dir: ${join(dir, "missing-parent", "state")}\nlog:\n  audit: ${auditLog}\n`,
    );
    const result = await runDevhatchery(["validate", "--config", path], home);
    expect(result.stderr).toBe(
      [
        `Problems with ${path}: 3 problems`,
        `  ✗ allowed_roots[0].path: "${join(dir, "no-such-folder")}" does not exist (ENOENT); create the folder or fix the path of alias "data"`,
        `  ✗ state.dir: "${join(dir, "missing-parent")}" does not exist (ENOENT); create the parent folder of the state folder "${join(dir, "missing-parent", "state")}" or choose another one`,
        `  ✗ log.audit: the folder of the audit log "${auditLog}" cannot be created: "${path}" is a file, not a folder; choose another path or create the folder`,
        "",
      ].join("\n"),
    );
    expect(result.code).toBe(1);
  });

  it("says when Docker cannot be reached and exits 2", async () => {
    const socket = join(dir, "no-docker.sock");
    const result = await runDevhatchery(["validate"], { ...home, DEVHATCHERY_DOCKER_HOST: `unix://${socket}` });
    expect(result.stderr).toBe(
      [
        "Problems with the embedded defaults (no config file) + DEVHATCHERY_DOCKER_HOST: 1 problem",
        `  ✗ docker.host: the engine at "unix://${socket}" does not answer: Cannot reach the Docker engine: the Docker engine is not reachable (ENOENT). Start Docker, or point DEVHATCHERY_DOCKER_HOST at it.`,
        "",
      ].join("\n"),
    );
    expect(result.code).toBe(2);
  });

  it("rejects unknown options and commands with exit 1", async () => {
    expect(await runDevhatchery(["validate", "--confg", "x"], home)).toEqual({
      code: 1,
      stdout: "",
      stderr: "devhatchery validate: Unknown option '--confg'; run `devhatchery validate --help`.\n",
    });
    expect((await runDevhatchery(["frobnicate"], home)).stderr).toBe(
      'devhatchery: unknown command "frobnicate"; the commands are serve, init, validate, plan, gc, debug, images (run `devhatchery --help`).\n',
    );
    expect((await runDevhatchery(["--version"], home)).stdout).toBe("devhatchery 0.1.0\n");
  });
});

describe("devhatchery plan", () => {
  it("shows what serve would create on a fresh network and creates nothing", async () => {
    const network = `devhatchery-e2e-plan-${randomBytes(4).toString("hex")}`;
    const path = join(dir, "plan.yaml");
    writeFileSync(
      path,
      `runners:\n  network: ${network}\nimages:\n  default: devhatchery-test/runner:dev\n  prepull: [devhatchery-test/debian:bookworm, devhatchery-test/absent:1]\npools:\n  - name: warm\n    min: 2\n    max: 3\n`,
    );
    const result = await runDevhatchery(["plan", "--config", path], home);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    // What garbage collection would delete depends on the engine (leftovers of other runs): its own line is checked below.
    const garbage = result.stdout.split("\n").filter((line) => line.startsWith("  garbage "));
    expect(garbage).toEqual([expect.stringMatching(/^ {2}garbage {6}(nothing due now|due now: .*)$/)]);
    expect(
      result.stdout
        .split("\n")
        .filter((line) => !line.startsWith("  garbage "))
        .join("\n"),
    ).toBe(
      [
        `Plan for ${path} (nothing is created now):`,
        "  listen       http://127.0.0.1:8080/mcp, auth none (one local principal)",
        `  state        ${join(dir, "state", "devhatchery", "state.db")}: would be created (folder mode 0700)`,
        `  exports      ${join(dir, "state", "devhatchery", "exports")}: would be created`,
        "  audit log    off",
        "  retention    runners, workspaces, snapshots and exports are kept until removed",
        "  gc           every 300 s: expired objects, unused agent volumes of other versions, dangling helpers",
        `  apt cache    on: port 3142 on each runner network's gateway, up to 4096 MiB in ${join(dir, "state", "devhatchery", "apt-cache")}`,
        `  jobs         at most 4 at once (100 queued), timeout 300 s (up to 3600); profiles shell (devhatchery-test/runner:dev); output in ${join(dir, "state", "devhatchery", "jobs")}`,
        `  network      ${network}: would be created on the first spawn (bridge, inter-container traffic off)`,
        `  network      ${network}-offline: would be created on the first spawn with network: false (internal bridge)`,
        "  image        devhatchery-test/runner:dev (default): present (amd64, agent 0.1.0 baked in)",
        "  agent volume not needed for the default image: it carries the agent",
        "  prepull      devhatchery-test/debian:bookworm: present",
        "  prepull      devhatchery-test/absent:1: would be pulled in the background at start-up",
        "  pool         warm: 2 ready (up to 3) of devhatchery-test/runner:dev, tmpfs /work, profile default, network on, 2 cpus and 2048 MiB each (4096-6144 MiB held); image present",
        "  pulls        missing (images.pull) from docker.io",
        "",
      ].join("\n"),
    );
    expect((await docker.listNetworks()).filter((candidate) => candidate.Name.startsWith(network))).toEqual([]);
  });

  it("names the engine's architecture as images do when the default image is absent", async () => {
    const path = join(dir, "plan-absent.yaml");
    writeFileSync(
      path,
      `runners:\n  network: devhatchery-e2e-plan-${randomBytes(4).toString("hex")}\nimages:\n  default: devhatchery-test/absent:1\n`,
    );
    const result = await runDevhatchery(["plan", "--config", path], home);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    const [architecture, nodeArch] = process.arch === "arm64" ? ["arm64", "arm64"] : ["amd64", "x64"];
    expect(result.stdout).toContain(
      "\n  image        devhatchery-test/absent:1 (default): would be pulled on the first spawn\n",
    );
    expect(result.stdout).toMatch(
      new RegExp(
        `\\n  agent volume devhatchery-agent-0\\.1\\.0-[0-9a-f]{12}-${nodeArch} \\(${architecture}\\): (exists|would be created and filled on the first spawn)\\n`,
      ),
    );
  });
});
