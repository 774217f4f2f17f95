#!/bin/sh
# The `devhatchery` command of the image (/usr/local/bin/devhatchery): the bundled CLI, always run as the unprivileged
# user with the Docker socket's group (entrypoint.sh), so `docker compose exec control-plane devhatchery plan` sees
# exactly what the server sees.
exec /opt/devhatchery-control-plane/entrypoint.sh /usr/local/bin/node /opt/devhatchery-control-plane/control-plane/dist/main.js "$@"
