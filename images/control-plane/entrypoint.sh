#!/bin/sh
# Runs the command as the unprivileged user "devhatchery" (uid 10001) with one supplementary group: the group that owns
# the Docker socket, so the control plane reaches the engine without being root. When the container already runs as
# a non-root user (compose `user:`), the command runs unchanged.
set -eu

if [ "$(id -u)" != "0" ]; then
  exec "$@"
fi

host="${DEVHATCHERY_DOCKER_HOST:-${DOCKER_HOST:-unix:///var/run/docker.sock}}"
socket="${host#unix://}"
groups="--clear-groups"
if [ "$socket" != "$host" ]; then
  if [ -S "$socket" ]; then
    groups="--groups=$(stat -c %g "$socket")"
  else
    echo "devhatchery: the Docker socket \"$socket\" is not mounted; mount it (-v /var/run/docker.sock:/var/run/docker.sock) or set DEVHATCHERY_DOCKER_HOST" >&2
  fi
fi

exec setpriv --reuid=10001 --regid=10001 "$groups" --inh-caps=-all --no-new-privs -- "$@"
