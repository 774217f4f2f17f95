#!/usr/bin/env bash
# Fails when the .proto files in the working tree break the wire or generated-code contract (buf's FILE rules) of
# an earlier commit: agents baked into images keep answering with the contract they were built from.
# Against what:
#   BUF_BREAKING_AGAINST=<git ref>   that ref, when set (e.g. main, to see what a branch changes);
#   otherwise                        the commit in proto/contract-baseline: the contract agents in the field were
#                                    built from. Every later commit is checked against it, however many land at
#                                    once. Move it forward only for a deliberate, documented break (an ADR saying
#                                    how older agents are handled), never to make this check pass.
# Runs from proto/ through `npm run breaking` (buf is the pinned @bufbuild/buf of proto/package.json).
set -euo pipefail
cd "$(dirname "$0")/.."
top="$(git rev-parse --show-toplevel)"

base="${BUF_BREAKING_AGAINST:-$(tr -d '[:space:]' < contract-baseline)}"
# A shallow clone may lack the baseline: fetch the history rather than skip the check.
if ! git rev-parse --verify --quiet "$base^{commit}" >/dev/null && [ "$(git rev-parse --is-shallow-repository)" = true ]; then
  git fetch --quiet --unshallow origin
fi
commit="$(git rev-parse --verify "$base^{commit}")" || {
  echo "buf-breaking: cannot resolve \"$base\" to a commit; set BUF_BREAKING_AGAINST to the commit to compare with." >&2
  exit 1
}
if ! git cat-file -e "$commit:proto/buf.yaml" 2>/dev/null; then
  echo "buf-breaking: $commit has no proto/ module; nothing to compare with."
  exit 0
fi
echo "buf-breaking: proto/ against $base ($(git rev-parse --short "$commit"))"
buf breaking --against "$top/.git#ref=$commit,subdir=proto"
