#!/usr/bin/env bash
# Ensures a Compose that works with Docker Engine 20.10 is installed and prints the command to run it:
# `docker compose` (v2, when its CLI plugin is present) or else Debian's `docker-compose` (1.29, installed with
# apt when missing). Idempotent and quick when one is already there. compose.yaml works with both.
set -euo pipefail

if docker compose version >/dev/null 2>&1; then
  echo "provision-compose: $(docker compose version --short 2>/dev/null || echo v2) already installed (docker compose)" >&2
  echo "docker compose"
  exit 0
fi

if ! command -v docker-compose >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "provision-compose: installing Debian's docker-compose" >&2
  log="$(mktemp)"
  # Wait for another apt run (the Docker provisioning, say) instead of failing on its lock.
  if ! { $SUDO apt-get -o DPkg::Lock::Timeout=300 update -qq &&
    DEBIAN_FRONTEND=noninteractive NEEDRESTART_MODE=a $SUDO apt-get -o DPkg::Lock::Timeout=300 install -y -qq --no-install-recommends docker-compose; } >"$log" 2>&1; then
    tail -n 20 "$log" >&2
    rm -f "$log"
    echo "provision-compose: apt-get could not install docker-compose (see above); install Compose v2 or docker-compose yourself" >&2
    exit 1
  fi
  rm -f "$log"
fi

version="$(docker-compose version --short 2>/dev/null)" || {
  echo "provision-compose: docker-compose is installed but does not run: $(docker-compose version 2>&1 | tail -1)" >&2
  exit 1
}
echo "provision-compose: docker-compose $version" >&2
echo "docker-compose"
