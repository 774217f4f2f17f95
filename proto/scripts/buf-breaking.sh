#!/usr/bin/env bash
# Fails when the .proto files in the working tree break the wire or generated-code contract (buf's FILE rules) of
# an earlier commit: agents baked into images keep answering with the contract they were built from.
# Against what:
#   BUF_BREAKING_AGAINST=<git ref>   that ref, when set;
#   on a branch other than main      the merge-base with main (what the branch would change when it lands);
#   on main (CI's fresh clone)       HEAD~1, the main before the last landed commit (a merge's first parent).
# Runs from proto/ through `npm run breaking` (buf is the pinned @bufbuild/buf of proto/package.json).
set -euo pipefail
cd "$(dirname "$0")/.."
top="$(git rev-parse --show-toplevel)"

base="${BUF_BREAKING_AGAINST:-}"
if [ -z "$base" ]; then
  if git rev-parse --verify --quiet main >/dev/null && [ "$(git rev-parse HEAD)" != "$(git rev-parse main)" ]; then
    base="$(git merge-base HEAD main)"
  else
    base="HEAD~1"
  fi
fi
# A shallow clone may lack the parent: fetch one more commit rather than skip the check.
if ! git rev-parse --verify --quiet "$base^{commit}" >/dev/null && [ "$(git rev-parse --is-shallow-repository)" = true ]; then
  git fetch --quiet --deepen=1 origin
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
