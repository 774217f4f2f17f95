/**
 * The warning for an image whose baked agent (label io.devhatchery.agent.version) is not this control plane's
 * version, or undefined when they match. Runners from it still work (the contract only grows, and the control plane
 * understands older agents' answers: docs/adr/0013-agent-contract-checks.md), so this is a warning, not a refusal.
 */
export function bakedAgentVersionWarning(
  image: string,
  bakedVersion: string,
  currentVersion: string,
): string | undefined {
  if (bakedVersion === currentVersion) return undefined;
  return (
    `Image "${image}" carries agent ${bakedVersion} baked in, but this control plane ships agent ${currentVersion}; its runners work with ` +
    `what both understand and miss the newer agent's changes. Rebuild the image with the current agent ` +
    `(devhatchery images build --base <your base image> --tag ${image}, or COPY --from=devhatchery/agent:${currentVersion} /opt/devhatchery ` +
    `/opt/devhatchery with LABEL io.devhatchery.agent.version=${currentVersion}), or drop that label to have the current agent injected.`
  );
}
