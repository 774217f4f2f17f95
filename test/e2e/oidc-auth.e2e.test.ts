import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { UnauthorizedError } from "@modelcontextprotocol/sdk/client/auth.js";
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { freePort } from "../../control-plane/test/free-port.js";
import {
  InMemoryOAuthClientProvider,
  startTestOpenIdProvider,
  type TestOpenIdProvider,
} from "../../control-plane/test/oidc-provider.js";
import { startControlPlane, TEST_RUNNER_IMAGE, type ControlPlaneProcess } from "../support/control-plane-process.js";
import { connectClient } from "../support/mcp-client.js";
import { runDevhatchery } from "./cli-process.js";
import { fails, ok, removeTestWorkspaces, sh } from "../support/runners-fixture.js";

/**
 * OIDC through real parts: an OpenID Provider (oidc-provider) on loopback, the built control plane with auth.mode
 * oidc and policies by group, and MCP SDK clients that know only the server's URL and log in with Auth Code + PKCE.
 */
describe("OIDC: from a bare 401 to a working exec, and policy by group through real tools", () => {
  const suffix = randomBytes(4).toString("hex");
  const id = (name: string): string => `e2e-oidc-${name}-${suffix}`;
  const network = `devhatchery-e2e-oidc-${suffix}`;
  const bob = { id: id("bob"), token: randomBytes(24).toString("hex") };
  const people = { alice: id("alice"), rita: id("rita"), nora: id("nora"), eve: id("eve") };
  let op: TestOpenIdProvider;
  let server: ControlPlaneProcess;
  let dir: string;
  let auditLog: string;
  let url: string;
  const clients: Client[] = [];
  let serverEnv: Record<string, string> = {};

  /** The audit log's records of one action and principal. */
  async function auditRecords(action: string, principal: string): Promise<Array<Record<string, unknown>>> {
    return (await readFile(auditLog, "utf8"))
      .split("\n")
      .filter(Boolean)
      .map((line) => JSON.parse(line) as Record<string, unknown>)
      .filter((record) => record.action === action && record.principal === principal);
  }

  /** An MCP client that knows only `url`: it meets the 401, discovers, registers, logs `sub` in and connects. */
  async function logIn(sub: string): Promise<Client> {
    const provider = new InMemoryOAuthClientProvider("http://127.0.0.1:1/callback");
    const first = new Client({ name: "oidc-e2e", version: "1.0.0" });
    await expect(
      first.connect(new StreamableHTTPClientTransport(new URL(url), { authProvider: provider })),
    ).rejects.toThrow(UnauthorizedError);
    expect(provider.authorizationUrl, "the SDK found the authorization endpoint on its own").toBeDefined();
    const redirect = await op.authorize(provider.authorizationUrl!, sub);
    const code = redirect.searchParams.get("code");
    expect(code, `authorization answered ${redirect.href}`).toBeTruthy();
    const transport = new StreamableHTTPClientTransport(new URL(url), { authProvider: provider });
    await transport.finishAuth(code!);
    const client = new Client({ name: "oidc-e2e", version: "1.0.0" });
    await client.connect(transport);
    clients.push(client);
    return client;
  }

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "devhatchery-e2e-oidc-"));
    await mkdir(join(dir, "data"));
    await mkdir(join(dir, "secret"));
    auditLog = join(dir, "audit.jsonl");
    const port = await freePort();
    url = `http://127.0.0.1:${port}/mcp`;
    op = await startTestOpenIdProvider({ resources: [url] });
    op.addAccount({ sub: people.alice, groups: ["dev"] });
    op.addAccount({ sub: people.rita, groups: ["auditors"] });
    op.addAccount({ sub: people.nora, groups: ["offline"] });
    op.addAccount({ sub: people.eve, groups: ["strangers"] });
    const config = join(dir, "devhatchery.yaml");
    await writeFile(
      config,
      [
        "allowed_roots:",
        `  - { alias: data, path: ${join(dir, "data")}, mode: rw }`,
        `  - { alias: secret, path: ${join(dir, "secret")} }`,
        "policies:",
        "  - { name: readers, groups: [auditors], tools: [read] }",
        "  - name: developers",
        "    groups: [dev]",
        `    images: ["${TEST_RUNNER_IMAGE}"]`,
        "    max_cpus: 1",
        "    max_memory_mb: 512",
        "    max_runners: 1",
        "    mounts: [data:ro]",
        "  - { name: offline, groups: [offline], network: false, tools: [runner_list, lifecycle] }",
        `  - { name: machines, principals: [${bob.id}] }`,
        "default_policy: deny",
        "",
      ].join("\n"),
    );
    serverEnv = {
      DEVHATCHERY_CONFIG: config,
      DEVHATCHERY_LISTEN_PORT: String(port),
      DEVHATCHERY_AUTH: "oidc",
      DEVHATCHERY_OIDC_ISSUER: op.issuer,
      DEVHATCHERY_OIDC_AUDIENCE: url,
      DEVHATCHERY_OIDC_SCOPES: "devhatchery",
      DEVHATCHERY_BEARER_TOKENS: `${bob.id}:${bob.token}`,
      DEVHATCHERY_RUNNER_NETWORK: network,
      DEVHATCHERY_AUDIT_LOG: auditLog,
    };
    server = await startControlPlane(serverEnv);
  });

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => undefined)));
    await server?.stop();
    await op?.close();
    await removeTestWorkspaces([bob, ...Object.values(people).map((person) => ({ id: person, token: "" }))], network);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it("tells a client without a token where to log in (RFC 9728 metadata and the challenge)", async () => {
    const response = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    expect(response.status).toBe(401);
    const metadataUrl = `${new URL(url).origin}/.well-known/oauth-protected-resource/mcp`;
    expect(response.headers.get("www-authenticate")).toBe(
      `Bearer realm="devhatchery", resource_metadata="${metadataUrl}", scope="devhatchery"`,
    );
    for (const path of [metadataUrl, `${new URL(url).origin}/.well-known/oauth-protected-resource`]) {
      expect(await (await fetch(path)).json()).toMatchObject({
        resource: url,
        authorization_servers: [op.issuer],
        scopes_supported: ["devhatchery"],
        bearer_methods_supported: ["header"],
      });
    }
    const ready = (await (await fetch(`${new URL(url).origin}/readyz`)).json()) as { checks: unknown[] };
    expect(ready.checks).toContainEqual({ name: "oidc", ok: true });
    const bad = await fetch(url, { method: "POST", headers: { authorization: "Bearer not-a-token" }, body: "{}" });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("www-authenticate")).toContain('error="invalid_token"');
  });

  it("gets an MCP client from 401 to a working exec with Authorization Code + PKCE", async () => {
    const alice = await logIn(people.alice);
    const spawned = await ok(alice, "runner_spawn", { alias: "mine", mounts: [{ alias: "data" }] });
    // developers: what the caller left to the defaults is lowered to the policy's limits.
    expect(spawned.limits).toMatchObject({ cpus: 1, memory_mb: 512 });
    expect(await sh(alice, "mine", "echo hello from $(id -un)")).toMatch(/^hello from /);
    expect(await auditRecords("auth.token", people.alice)).toEqual([
      expect.objectContaining({ issuer: op.issuer, jti: expect.any(String), groups: ["dev"], policy: "developers" }),
    ]);
  });

  it("refuses what the developers policy does not grant, naming the policy and the rule", async () => {
    const alice = clients[0]!;
    expect(await fails(alice, "runner_spawn", { alias: "two" })).toMatch(
      /^Error POLICY_DENIED: You already have 1 runners, the most policy "developers" \(rule max_runners\) allows, 1 per principal/,
    );
    for (const [args, rule] of [
      [{ cpus: 2 }, /policy "developers" \(rule max_cpus\) allows at most 1 cpus, not 2/],
      [{ memory_mb: 1024 }, /policy "developers" \(rule max_memory_mb\) allows at most 512 memory_mb/],
      [{ image: "busybox:latest" }, /policy "developers" \(rule images\) does not allow image "busybox:latest"/],
      [{ mounts: [{ alias: "secret" }] }, /policy "developers" \(rule mounts\) does not allow mounting "secret"/],
      [{ mounts: [{ alias: "data", mode: "rw" }] }, /policy "developers" \(rule mounts\) allows "data" read-only/],
    ] as const) {
      expect(await fails(alice, "runner_spawn", { alias: "other", ...args })).toMatch(rule);
    }
  });

  it("lets a reader look but not exec or write, and keeps the network off for the offline group", async () => {
    const rita = await logIn(people.rita);
    expect(await ok(rita, "runner_list")).toEqual({ runners: [] });
    for (const tool of ["exec", "fs_write", "runner_spawn"]) {
      expect(await fails(rita, tool, { runner: "x", command: "true", path: "/work/x", content: "" })).toMatch(
        new RegExp(`^Error POLICY_DENIED: policy "readers" \\(rule tools\\) does not allow the tool ${tool}`),
      );
    }
    const nora = await logIn(people.nora);
    expect(await fails(nora, "runner_spawn", { network: true })).toMatch(
      /policy "offline" \(rule network\) gives runners no network/,
    );
    const offline = await ok(nora, "runner_spawn", { alias: "quiet" });
    expect(offline.network).toBe(false);
    expect(await fails(nora, "exec", { runner: "quiet", command: "true" })).toMatch(/rule tools/);
    // Resources are looks like the tools: a file takes fs_read, a listing fs_list; the runner itself runner_list.
    await expect(nora.readResource({ uri: "devhatchery://runners/quiet/files/etc/hostname" })).rejects.toThrow(
      /POLICY_DENIED: policy "offline" \(rule tools\) does not allow reading devhatchery:\/\/runners\/quiet\/files\/etc\/hostname \(it takes fs_read\)/,
    );
    expect((await nora.readResource({ uri: "devhatchery://runners/quiet" })).contents).toHaveLength(1);
    expect((await nora.listResources()).resources).toEqual([]);
    expect(await auditRecords("policy.denied", people.rita)).toContainEqual(
      expect.objectContaining({ outcome: "denied", request: "tool.exec", policy: "readers", what: "tools" }),
    );
  });

  it("refuses a person no policy names (default_policy deny) at the door", async () => {
    await expect(logIn(people.eve)).rejects.toThrow(/Forbidden: policy \\"deny\\" refuses principal/);
  });

  it("keeps a bearer principal's runners invisible to OIDC principals (mixed mode)", async () => {
    const bobClient = await connectClient(url, bob.token);
    clients.push(bobClient);
    const mine = await ok(bobClient, "runner_spawn", { alias: "bobs" });
    const alice = clients[0]!;
    const seen = (await ok(alice, "runner_list")).runners as Array<{ runner_id: string }>;
    expect(seen.map((runner) => runner.runner_id)).not.toContain(mine.runner_id);
    expect(await fails(alice, "exec", { runner: mine.runner_id as string, command: "true" })).toMatch(
      /^Error NOT_FOUND/,
    );
    expect(await fails(alice, "exec", { runner: "bobs", command: "true" })).toMatch(/^Error NOT_FOUND/);
  });

  it("validate checks the policies and reaches the issuer; plan shows the policy a caller gets", async () => {
    const env = { ...serverEnv, HOME: dir };
    const validated = await runDevhatchery(["validate"], env);
    expect(validated.code, validated.stderr).toBe(0);
    expect(validated.stdout).toContain(
      `\n  oidc     issuer ${op.issuer} answers (keys at ${op.jwksUri}); audience ${url}; resource ${url}\n`,
    );
    expect(validated.stdout).toContain("\n  policies readers, developers, offline, machines, deny (default);");
    const planned = await runDevhatchery(["plan", "--principal", people.alice, "--group", "dev"], env);
    expect(planned.code, planned.stderr).toBe(0);
    expect(planned.stdout).toContain(`auth oidc (issuer ${op.issuer}, audience ${url}, scopes devhatchery) and bearer`);
    expect(planned.stdout).toContain(
      [
        `  effective    principal "${people.alice}" with groups dev gets policy developers (matched group "dev"), within the server-wide limits:`,
        `                 images ${TEST_RUNNER_IMAGE} (and images.allowed)`,
        "                 cpus ≤ 1, memory_mb ≤ 512, runners ≤ 1",
        "                 mounts data:ro",
        "                 tools all",
        "",
      ].join("\n"),
    );
    const stranger = await runDevhatchery(["plan", "--group", "strangers"], env);
    expect(stranger.stdout).toContain(
      "  effective    a caller with groups strangers gets policy deny (no policy names it: default_policy), within the server-wide limits:\n                 refused: every request is answered 403\n",
    );
  });
});
