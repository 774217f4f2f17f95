#!/usr/bin/env bash
# Ensures a Docker engine is running (Debian's docker.io, started in the background when no service
# manager runs it), that debootstrap is present for the offline test images and docker-registry for the
# pull tests. Idempotent and quick
# when everything is already there.
set -euo pipefail

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

missing=()
command -v dockerd >/dev/null 2>&1 || missing+=(docker.io)
command -v debootstrap >/dev/null 2>&1 || missing+=(debootstrap)
# A real registry for the image pull tests (Distribution 2.8; the tests start their own on loopback ports).
[ -x /usr/bin/docker-registry ] || missing+=(docker-registry)
# `ip netns` for the network tests' stand-in for a host beyond the Docker host.
command -v ip >/dev/null 2>&1 || missing+=(iproute2)
if [ "${#missing[@]}" -gt 0 ]; then
  echo "provision-docker: installing ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if docker info >/dev/null 2>&1; then
  echo "provision-docker: engine already running ($(docker info --format '{{.ServerVersion}}'))"
  exit 0
fi

log="${DOCKERD_LOG:-/var/log/devhatchery-dockerd.log}"
echo "provision-docker: starting dockerd (log: $log)"
$SUDO sh -c "nohup dockerd >>'$log' 2>&1 &"
for _ in $(seq 1 120); do
  if docker info >/dev/null 2>&1; then
    echo "provision-docker: engine ready ($(docker info --format '{{.ServerVersion}}'))"
    exit 0
  fi
  sleep 0.5
done
echo "provision-docker: dockerd did not become ready within 60 s; last log lines:" >&2
tail -n 30 "$log" >&2 || true
exit 1
