#!/usr/bin/env bash
# Builds the agent layer image and the runner image from the agent bundle (run `npm run build` first).
# Every input is an environment variable so the same Dockerfiles serve users and offline test machines:
#   NODE_IMAGE   image providing /usr/local/bin/node (default node:24.21.0-bookworm-slim)
#   BASE_IMAGE   runner base image (default ubuntu:24.04)
#   AGENT_TAG    tag of the agent layer image (default devhatchery/agent:latest)
#   RUNNER_TAG   tag of the runner image (default devhatchery/runner:latest)
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_IMAGE="${NODE_IMAGE:-node:24.21.0-bookworm-slim}"
BASE_IMAGE="${BASE_IMAGE:-ubuntu:24.04}"
AGENT_TAG="${AGENT_TAG:-devhatchery/agent:latest}"
RUNNER_TAG="${RUNNER_TAG:-devhatchery/runner:latest}"
AGENT_VERSION="$(node -p 'require("./runner-agent/package.json").version')"

if [ ! -f runner-agent/dist/agent.cjs ]; then
  echo "build-images: runner-agent/dist/agent.cjs is missing; run \`npm run build\` first" >&2
  exit 1
fi

# The legacy builder works with every engine we support (no buildx needed); the Debian CLI is preferred when present.
docker_cli=docker
[ -x /usr/bin/docker ] && docker_cli=/usr/bin/docker
build() { DOCKER_BUILDKIT=0 "$docker_cli" build --quiet "$@" >/dev/null; }

echo "build-images: agent layer $AGENT_TAG (node from $NODE_IMAGE)"
build -t "$AGENT_TAG" -f images/agent/Dockerfile \
  --build-arg NODE_IMAGE="$NODE_IMAGE" --build-arg AGENT_VERSION="$AGENT_VERSION" runner-agent/dist

echo "build-images: runner $RUNNER_TAG (base $BASE_IMAGE)"
build -t "$RUNNER_TAG" -f images/runner/Dockerfile \
  --build-arg AGENT_IMAGE="$AGENT_TAG" --build-arg BASE_IMAGE="$BASE_IMAGE" --build-arg AGENT_VERSION="$AGENT_VERSION" images/runner
