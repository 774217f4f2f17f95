import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll } from "vitest";

/**
 * Setup of the unit tier (no Docker, no developer state): before each test file, HOME and the XDG folders point at a
 * fresh temporary folder, Docker's default address at a socket that does not exist, and no DEVHATCHERY_* setting of
 * the developer's shell leaks in. A test that forgets its own state folder or reaches for the engine then touches
 * nothing real. Tests still pass their own state folder and engine address explicitly.
 */
const home = mkdtempSync(join(tmpdir(), "devhatchery-unit-home-"));
for (const name of Object.keys(process.env)) if (name.startsWith("DEVHATCHERY_")) delete process.env[name];
process.env.HOME = home;
process.env.XDG_STATE_HOME = join(home, "state");
process.env.XDG_CACHE_HOME = join(home, "cache");
process.env.DOCKER_HOST = `unix://${join(home, "no-docker-engine-in-unit-tests.sock")}`;

afterAll(() => rmSync(home, { recursive: true, force: true }));
