import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createAuthenticator } from "../../control-plane/dist/auth/create-authenticator.js";
import { loadConfig } from "../../control-plane/dist/config.js";
import { startTestOpenIdProvider } from "../../control-plane/test/oidc-provider.ts";
import { latencyTable } from "../bench-table.ts";
import type { Scenario } from "../scenario.ts";
import { formatMs, measure, summarize } from "../stats.ts";

const RESOURCE = "http://127.0.0.1:8080/mcp";

/**
 * What the door costs per request: a configured bearer token (SHA-256 and constant-time compares) against an OIDC JWT
 * access token (RS256 signature with the issuer's keys, cached after the first fetch, then the claims and the policy),
 * in the control plane's own authenticator with a real OpenID Provider on loopback.
 */
export const authOverhead: Scenario = {
  title: "Auth per request (bearer vs OIDC JWT)",
  async run(options, signal) {
    const op = await startTestOpenIdProvider({ resources: [RESOURCE], machineClients: { bench: { groups: ["dev"] } } });
    const home = await mkdtemp(join(tmpdir(), "devhatchery-bench-auth-"));
    try {
      const bearerToken = randomBytes(24).toString("hex");
      const door = createAuthenticator(
        loadConfig({
          HOME: home,
          DEVHATCHERY_AUTH: "oidc",
          DEVHATCHERY_OIDC_ISSUER: op.issuer,
          DEVHATCHERY_OIDC_AUDIENCE: RESOURCE,
          DEVHATCHERY_OIDC_SCOPES: "devhatchery",
          DEVHATCHERY_DEFAULT_POLICY: "unrestricted",
          DEVHATCHERY_BEARER_TOKENS: `machine:${bearerToken}`,
        }),
      );
      const jwt = await op.clientCredentialsToken("bench");
      const admitted = async (header: string): Promise<void> => {
        const result = await door.authenticate(header);
        if (!result.ok) throw new Error(`refused: ${result.description}`);
      };
      const samples = options.statSamples * 10;
      const bearer = summarize(await measure(() => admitted(`Bearer ${bearerToken}`), { warmup: 50, samples, signal }));
      const oidc = summarize(await measure(() => admitted(`Bearer ${jwt}`), { warmup: 50, samples, signal }));
      return {
        lines: [
          "The control plane's authenticator alone, in process: a configured bearer token against a client-credentials " +
            "JWT access token of the in-repo OpenID Provider (RS256; the issuer's keys fetched once, then cached). " +
            "Ratio = p50 ÷ bearer p50.",
          "",
          ...latencyTable(
            [
              { path: "bearer token", summary: bearer },
              { path: "OIDC JWT access token", summary: oidc, reference: bearer },
            ],
            "vs bearer",
          ),
          "",
          `OIDC adds p50 ${formatMs(oidc.p50 - bearer.p50)} ms, p95 ${formatMs(oidc.p95 - bearer.p95)} ms per request.`,
        ],
        goals: [
          {
            what: "OIDC token check per request",
            goal: "p95 < 1 ms (ours: a fifth of the tool-overhead goal)",
            measured: `p95 ${formatMs(oidc.p95)} ms (p50 ${formatMs(oidc.p50)} ms)`,
            met: oidc.p95 < 1,
          },
        ],
      };
    } finally {
      await op.close();
      await rm(home, { recursive: true, force: true });
    }
  },
};
