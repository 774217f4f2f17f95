import { createHash } from "node:crypto";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { DEFAULT_AGENT_BUNDLE, isLoopbackHost, loadConfig } from "./config.js";
import { WRITE_CAP_BYTES } from "./runners/files/file-service.js";

const token = "0123456789abcdef0123";
const sha256 = (value: string): string => createHash("sha256").update(value).digest("hex");

describe("loadConfig", () => {
  it("starts on loopback with auth none and defaults when nothing is set", () => {
    expect(loadConfig({})).toMatchObject({
      listen: { host: "127.0.0.1", port: 8080 },
      auth: { mode: "none", tokens: [] },
      defaultImage: "ubuntu:24.04",
      runnerNetwork: "devhatchery-runners",
      readyTimeoutMs: 30_000,
      sessionIdleTimeoutMs: 1_800_000,
      testFixtures: false,
    });
  });

  it("takes the session idle timeout and the test fixtures switch from the environment", () => {
    expect(loadConfig({ DEVHATCHERY_SESSION_IDLE_TIMEOUT_MS: "5000", DEVHATCHERY_TEST_FIXTURES: "1" })).toMatchObject({
      sessionIdleTimeoutMs: 5000,
      testFixtures: true,
    });
    expect(() => loadConfig({ DEVHATCHERY_SESSION_IDLE_TIMEOUT_MS: "10", DEVHATCHERY_TEST_FIXTURES: "yes" })).toThrow(
      [
        "Invalid configuration:",
        '  DEVHATCHERY_SESSION_IDLE_TIMEOUT_MS: must be at least 1000, got "10"',
        '  DEVHATCHERY_TEST_FIXTURES: must be "1" (serve the conformance fixtures, tests only) or "0", got "yes"',
      ].join("\n"),
    );
  });

  it("bounds request bodies above the largest legal fs_write, and takes the session limits from the environment", () => {
    const base64Write = Math.ceil(WRITE_CAP_BYTES / 3) * 4;
    expect(loadConfig({}).sessionLimits).toEqual({
      maxBodyBytes: 24 * 1024 * 1024,
      maxPerPrincipal: 64,
      maxSubscriptions: 256,
      maxWatches: 64,
    });
    expect(loadConfig({}).sessionLimits.maxBodyBytes).toBeGreaterThan(base64Write + 64 * 1024);
    const env = {
      DEVHATCHERY_MAX_BODY_BYTES: "1048576",
      DEVHATCHERY_MAX_SESSIONS_PER_PRINCIPAL: "3",
      DEVHATCHERY_MAX_SUBSCRIPTIONS: "4",
      DEVHATCHERY_MAX_WATCHES: "5",
    };
    expect(loadConfig(env).sessionLimits).toEqual({
      maxBodyBytes: 1048576,
      maxPerPrincipal: 3,
      maxSubscriptions: 4,
      maxWatches: 5,
    });
  });

  it("switches to bearer when tokens are configured, one principal per token", () => {
    const config = loadConfig({ DEVHATCHERY_BEARER_TOKENS: `alice:${token}, bob:${token}x:y` });
    expect(config.auth).toEqual({
      mode: "bearer",
      tokens: [
        { principal: "alice", tokenSha256: sha256(token), groups: [] },
        { principal: "bob", tokenSha256: sha256(`${token}x:y`), groups: [] },
      ],
      oidc: undefined,
    });
  });

  it("refuses auth none on a non-loopback address", () => {
    expect(() => loadConfig({ DEVHATCHERY_LISTEN_HOST: "0.0.0.0" })).toThrow(
      'auth.mode: "none" is only allowed on a loopback address, not "0.0.0.0"; use bearer auth with tokens (auth.mode: bearer and auth.tokens, or DEVHATCHERY_AUTH=bearer with DEVHATCHERY_BEARER_TOKENS), OIDC (auth.mode: oidc, see docs/auth.md), or listen on 127.0.0.1',
    );
    expect(() =>
      loadConfig({
        DEVHATCHERY_LISTEN_HOST: "0.0.0.0",
        DEVHATCHERY_AUTH: "none",
        DEVHATCHERY_BEARER_TOKENS: `a:${token}`,
      }),
    ).toThrow(/only allowed on a loopback/);
  });

  it("lists every problem at once", () => {
    expect(() =>
      loadConfig({
        DEVHATCHERY_LISTEN_HOST: "10.1.2.3",
        DEVHATCHERY_AUTH: "bearer",
        DEVHATCHERY_BEARER_TOKENS: "no-separator,alice:short",
      }),
    ).toThrow(
      [
        "Invalid configuration:",
        '  DEVHATCHERY_BEARER_TOKENS[0]: expected "principal:token", e.g. "alice:$(openssl rand -hex 32)"; entries are separated by ","',
        "  DEVHATCHERY_BEARER_TOKENS[1].token: must be at least 16 characters, got (hidden, 5 characters); generate one with `openssl rand -hex 32`",
      ].join("\n"),
    );
  });

  it("asks for tokens when bearer is chosen without any", () => {
    expect(() => loadConfig({ DEVHATCHERY_AUTH: "bearer" })).toThrow(
      'auth.tokens: auth "bearer" needs at least one token; each entry needs a principal and one of token, token_file or token_sha256',
    );
  });

  it("reports schema errors with the variable name", () => {
    expect(() => loadConfig({ DEVHATCHERY_LISTEN_PORT: "http", DEVHATCHERY_AUTH: "magic" })).toThrow(
      [
        "Invalid configuration:",
        '  DEVHATCHERY_LISTEN_PORT: must be a number, got "http"',
        '  DEVHATCHERY_AUTH: must be one of none, bearer, oidc, got "magic"',
      ].join("\n"),
    );
  });

  it("finds the agent bundle beside the control plane and caches agent runtimes under the user's cache directory", () => {
    const repository = fileURLToPath(new URL("../../", import.meta.url));
    expect(DEFAULT_AGENT_BUNDLE).toBe(`${repository}runner-agent/dist/agent.cjs`);
    expect(loadConfig({ HOME: "/home/op" }).agent).toEqual({
      bundlePath: DEFAULT_AGENT_BUNDLE,
      cacheDir: "/home/op/.cache/devhatchery",
    });
    expect(loadConfig({ HOME: "/home/op", XDG_CACHE_HOME: "/var/cache/op" }).agent.cacheDir).toBe(
      "/var/cache/op/devhatchery",
    );
  });

  it("takes the agent bundle and the cache directory from the environment, as absolute paths only", () => {
    expect(
      loadConfig({ DEVHATCHERY_AGENT_BUNDLE: "/srv/agent.cjs", DEVHATCHERY_CACHE_DIR: "/srv/cache" }).agent,
    ).toEqual({ bundlePath: "/srv/agent.cjs", cacheDir: "/srv/cache" });
    expect(() => loadConfig({ DEVHATCHERY_AGENT_BUNDLE: "dist/agent.cjs", DEVHATCHERY_CACHE_DIR: "cache" })).toThrow(
      [
        "Invalid configuration:",
        '  DEVHATCHERY_AGENT_BUNDLE: must be an absolute path, got "dist/agent.cjs"',
        '  DEVHATCHERY_CACHE_DIR: must be an absolute path, got "cache"',
      ].join("\n"),
    );
  });

  it.each([
    ["127.0.0.1", true],
    ["127.8.9.10", true],
    ["localhost", true],
    ["::1", true],
    ["0.0.0.0", false],
    ["192.168.1.5", false],
    ["example.com", false],
  ])("isLoopbackHost(%s) = %s", (host, expected) => {
    expect(isLoopbackHost(host)).toBe(expected);
  });
});

describe("loadConfig: allowed roots and exports", () => {
  it("parses allowed roots by alias, read-only unless :rw, and puts exports under the user's state directory", () => {
    const config = loadConfig({
      HOME: "/home/ada",
      DEVHATCHERY_ALLOWED_ROOTS: "data=/srv/data, out=/srv/out:rw ,logs=/var/log/app:ro",
    });
    expect(config.allowedRoots).toEqual([
      { alias: "data", hostPath: "/srv/data", allowRw: false },
      { alias: "out", hostPath: "/srv/out", allowRw: true },
      { alias: "logs", hostPath: "/var/log/app", allowRw: false },
    ]);
    expect(config.exports).toEqual({
      root: "/home/ada/.local/state/devhatchery/exports",
      maxBytes: 5 * 1024 * 1024 * 1024,
    });
    expect(loadConfig({ XDG_STATE_HOME: "/state" }).exports.root).toBe("/state/devhatchery/exports");
    expect(loadConfig({}).allowedRoots).toEqual([]);
  });

  it("takes the export root and size limit from the environment", () => {
    expect(
      loadConfig({ DEVHATCHERY_EXPORT_ROOT: "/srv/exports", DEVHATCHERY_EXPORT_MAX_BYTES: "1048576" }).exports,
    ).toEqual({ root: "/srv/exports", maxBytes: 1048576 });
    expect(() => loadConfig({ DEVHATCHERY_EXPORT_ROOT: "exports", DEVHATCHERY_EXPORT_MAX_BYTES: "0" })).toThrow(
      [
        "Invalid configuration:",
        '  DEVHATCHERY_EXPORT_ROOT: must be an absolute path, got "exports"',
        '  DEVHATCHERY_EXPORT_MAX_BYTES: must be at least 1, got "0"',
      ].join("\n"),
    );
  });

  it("lists every malformed allowed root at once", () => {
    expect(() =>
      loadConfig({
        DEVHATCHERY_ALLOWED_ROOTS: "Data=/srv/d,rel=srv/x,dot=/srv/../etc,root=/:rw,ok=/srv/ok,ok=/srv/other,noequals",
      }),
    ).toThrow(
      [
        "Invalid configuration:",
        '  DEVHATCHERY_ALLOWED_ROOTS[6]: expected "alias=/host/path[:ro|:rw]", e.g. "data=/srv/data:ro"; entries are separated by ","',
        '  DEVHATCHERY_ALLOWED_ROOTS[0].alias: must be 1-32 lower-case letters, digits, "_" or "-", starting with a letter or digit, got "Data"',
        '  DEVHATCHERY_ALLOWED_ROOTS[1].path: must be an absolute, normalized folder other than "/", e.g. /srv/data, got "srv/x"',
        '  DEVHATCHERY_ALLOWED_ROOTS[2].path: must be an absolute, normalized folder other than "/", e.g. /srv/data, got "/srv/../etc"',
        '  DEVHATCHERY_ALLOWED_ROOTS[3].path: must be an absolute, normalized folder other than "/", e.g. /srv/data, got "/"',
        '  DEVHATCHERY_ALLOWED_ROOTS[5].alias: "ok" is listed twice; give each allowed root its own alias',
      ].join("\n"),
    );
  });
});
