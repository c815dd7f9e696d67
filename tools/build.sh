#!/usr/bin/env bash
# Builds levee's pinned Go tools (opa and the local cluster's binaries) and caches them
# outside the repository, keyed by the tool's pinned module files and the Go version.
#
#   tools/build.sh opa kube etcd kwok     build what is missing, print one path per tool
#
# A warm call costs a hash and a stat per tool. Progress goes to stderr, paths to stdout.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cache_root="${LEVEE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/levee}"
export GOTOOLCHAIN=local
export GOFLAGS="-trimpath -mod=mod"
export CGO_ENABLED=0

if ! command -v go >/dev/null 2>&1; then
  for candidate in /usr/local/go/bin /usr/lib/go/bin; do
    [ -x "$candidate/go" ] && export PATH="$candidate:$PATH" && break
  done
fi
command -v go >/dev/null 2>&1 || { echo "levee: Go is required to build tools (install Go 1.26+)" >&2; exit 1; }

build_one() {
  local tool="$1" dir="$here/$1"
  [ -f "$dir/go.mod" ] || { echo "levee: unknown tool '$tool' (no $dir/go.mod)" >&2; exit 2; }
  local key
  key="$( (go env GOVERSION; cat "$dir/go.mod" "$dir/go.sum" "$dir"/*.go) | sha256sum | cut -c1-16)"
  local out="$cache_root/$tool-$key/$tool"
  if [ -x "$out" ]; then
    echo "$out"
    return
  fi
  mkdir -p "$(dirname "$out")"
  echo "levee: building $tool (cold build; cached at $(dirname "$out") afterwards)..." >&2
  local started=$SECONDS
  (cd "$dir" && go build -ldflags="-s -w" -o "$out.tmp" .)
  mv "$out.tmp" "$out"
  echo "levee: built $tool in $((SECONDS - started))s" >&2
  echo "$out"
}

[ $# -gt 0 ] || { echo "usage: tools/build.sh opa|kube|etcd|kwok ..." >&2; exit 2; }
for tool in "$@"; do build_one "$tool"; done
