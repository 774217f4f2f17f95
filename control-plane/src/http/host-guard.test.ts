import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { createHostGuard, type HostGuardOptions } from "./host-guard.js";

function guarded(
  options: Partial<HostGuardOptions> & { listenHost: string },
): (host: string, origin?: string) => Promise<{ status: number; body: unknown }> {
  const app = new Hono();
  app.use("*", createHostGuard({ allowedHosts: [], allowedOrigins: [], ...options }));
  app.get("/mcp", (c) => c.json({ ok: true }));
  return async (host, origin) => {
    const response = await app.request("/mcp", { headers: { host, ...(origin ? { origin } : {}) } });
    return { status: response.status, body: await response.json() };
  };
}

const passed = { status: 200, body: { ok: true } };

describe("createHostGuard", () => {
  it("on a loopback bind accepts loopback names and the listen address, and names the bare host to allow", async () => {
    const request = guarded({ listenHost: "127.0.0.2" });
    for (const host of ["localhost:8080", "127.0.0.1:8080", "[::1]:8080", "127.0.0.2:8080", "LocalHost"])
      expect(await request(host), host).toEqual(passed);
    expect(await request("evil.example:8080")).toEqual({
      status: 403,
      body: {
        error: "forbidden_host",
        message:
          'Host "evil.example:8080" is not allowed; add "evil.example" (the name without the port) to auth.allowed_hosts or DEVHATCHERY_ALLOWED_HOSTS.',
      },
    });
    // The value the message names, added as printed, lets the same request through.
    expect(await guarded({ listenHost: "127.0.0.2", allowedHosts: ["evil.example"] })("evil.example:8080")).toEqual(
      passed,
    );
  });

  it("off loopback with allowed hosts also accepts loopback names and the listen address (devhatchery debug uses 127.0.0.1)", async () => {
    const wildcard = guarded({ listenHost: "0.0.0.0", allowedHosts: ["devhatchery.example"] });
    for (const host of ["devhatchery.example:8080", "127.0.0.1:18735", "localhost"])
      expect(await wildcard(host), host).toEqual(passed);
    expect((await wildcard("0.0.0.0:8080")).status).toBe(403);
    expect((await wildcard("rebind.attacker.example:8080")).status).toBe(403);
    const addressed = guarded({ listenHost: "10.1.2.3", allowedHosts: ["devhatchery.example"] });
    expect(await addressed("10.1.2.3:8080")).toEqual(passed);
    expect(await guarded({ listenHost: "fd00::5", allowedHosts: ["devhatchery.example"] })("[fd00::5]:8080")).toEqual(
      passed,
    );
  });

  it("off loopback without allowed hosts accepts any host", async () => {
    expect(await guarded({ listenHost: "0.0.0.0" })("anything.example:8080")).toEqual(passed);
  });

  it("accepts an Origin that is listed or names an accepted host, and says where to allow another", async () => {
    const request = guarded({ listenHost: "127.0.0.1", allowedOrigins: ["https://app.example"] });
    expect(await request("127.0.0.1:8080", "https://app.example")).toEqual(passed);
    expect(await request("127.0.0.1:8080", "http://localhost:6274")).toEqual(passed);
    expect(await request("127.0.0.1:8080", "http://evil.example")).toEqual({
      status: 403,
      body: {
        error: "forbidden_origin",
        message:
          'Origin "http://evil.example" is not allowed; add it to auth.allowed_origins or DEVHATCHERY_ALLOWED_ORIGINS.',
      },
    });
  });
});
