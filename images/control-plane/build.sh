#!/usr/bin/env bash
# Builds the control-plane image from this checkout: `npm run build`, the one-file bundle (bundle.mjs), then the
# Dockerfile with the legacy builder (no buildx, never --pull). Every input is an environment variable:
#   TAG         the image tag (default devhatchery/control-plane:latest, the one compose.yaml runs)
#   BASE_IMAGE  the base image (Dockerfile default: debian:bookworm-slim)
#   NODE_IMAGE  an image with Node 24.21.0 at /usr/local/bin/node (Dockerfile default: node:24.21.0-bookworm-slim)
#   SKIP_NPM_BUILD=1  reuse the current `npm run build` output
# Offline (no container registry): BASE_IMAGE=devhatchery-test/debian:bookworm NODE_IMAGE=devhatchery-test/node:24.21.0
# after `bash images/build-test-images.sh`.
set -euo pipefail
cd "$(dirname "$0")/../.."

TAG="${TAG:-devhatchery/control-plane:latest}"
VERSION="$(node -p 'require("./control-plane/package.json").version')"

if [ "${SKIP_NPM_BUILD:-0}" != "1" ]; then
  echo "control-plane image: npm run build" >&2
  npm run build --silent >/dev/null
fi
node images/control-plane/bundle.mjs

args=(--build-arg "VERSION=$VERSION")
[ -n "${BASE_IMAGE:-}" ] && args+=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
[ -n "${NODE_IMAGE:-}" ] && args+=(--build-arg "NODE_IMAGE=$NODE_IMAGE")

docker_cli=docker
[ -x /usr/bin/docker ] && docker_cli=/usr/bin/docker
echo "control-plane image: building $TAG (base ${BASE_IMAGE:-default}, node ${NODE_IMAGE:-default})" >&2
DOCKER_BUILDKIT=0 "$docker_cli" build --quiet -t "$TAG" -f images/control-plane/Dockerfile "${args[@]}" . >/dev/null
echo "$TAG"
