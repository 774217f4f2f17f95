// The image's HEALTHCHECK: exits 0 when the control plane answers GET /healthz. With compose's host networking the
// listen address is the host's loopback; DEVHATCHERY_HEALTHCHECK_URL overrides the URL for other setups.
const port = process.env.DEVHATCHERY_LISTEN_PORT || "8080";
const url = process.env.DEVHATCHERY_HEALTHCHECK_URL || `http://127.0.0.1:${port}/healthz`;

try {
  const response = await fetch(url, { signal: AbortSignal.timeout(2500) });
  if (!response.ok) {
    process.stderr.write(`healthcheck: GET ${url} answered ${response.status}\n`);
    process.exit(1);
  }
} catch (error) {
  process.stderr.write(`healthcheck: GET ${url} failed: ${error.cause?.code ?? error.message}\n`);
  process.exit(1);
}
