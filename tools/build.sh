#!/usr/bin/env bash
# Builds levee's pinned Go tools (opa and the local cluster's binaries; helm, promtool and
# oci-archive for tests and the image) and caches them outside the repository, keyed by the
# tool's pinned module files and the Go version.
#
#   tools/build.sh opa kube etcd kwok     build what is missing, print one path per tool
#
# A tool is tools/<name>/: a pinned module with either a main.go, or a `tool` directive in its
# go.mod naming the upstream command to build (helm, promtool), so no upstream main is copied.
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

# Kubernetes components report their version from link-time variables; without them
# /version says v0.0.0-master, which kubectl cannot parse and version checks misread.
version_ldflags() {
  case "$1" in
    kube | kube-1.37) kube_version_ldflags "$1" ;;
    helm) helm_version_ldflags ;;
  esac
}

# helm reports its own version, and assumes a Kubernetes version for `helm template` and
# `helm lint` without a cluster, from link-time variables as its Makefile sets them.
helm_version_ldflags() {
  local version client minor
  version="$(cd "$here/helm" && go list -m -f '{{.Version}}' helm.sh/helm/v3)"
  client="$(cd "$here/helm" && go list -m -f '{{.Version}}' k8s.io/client-go)"
  minor="${client#v0.}"
  minor="${minor%%.*}"
  local v=helm.sh/helm/v3
  printf -- '-X %s/internal/version.version=%s -X %s/internal/version.gitTreeState=clean' "$v" "$version" "$v"
  printf -- ' -X %s/pkg/lint/rules.k8sVersionMajor=1 -X %s/pkg/lint/rules.k8sVersionMinor=%s' "$v" "$v" "$minor"
  printf -- ' -X %s/pkg/chartutil.k8sVersionMajor=1 -X %s/pkg/chartutil.k8sVersionMinor=%s' "$v" "$v" "$minor"
}

# Build tags a tool's upstream offers to leave out what levee never runs: promtool without
# Prometheus' service discovery plugins (levee runs only `check rules` and `test rules`), which
# are most of its cold build.
build_tags() {
  case "$1" in
    promtool) echo remove_all_sd ;;
  esac
}

kube_version_ldflags() {
  local version
  version="$(cd "$here/$1" && go list -m -f '{{.Version}}' k8s.io/kubernetes)"
  local minor="${version#v1.}"
  minor="${minor%%.*}"
  local pkg=k8s.io/component-base/version
  printf -- '-X %s.gitVersion=%s -X %s.gitMajor=1 -X %s.gitMinor=%s -X %s.gitTreeState=clean -X %s.buildDate=1970-01-01T00:00:00Z' \
    "$pkg" "$version" "$pkg" "$pkg" "$minor" "$pkg" "$pkg"
}

build_one() {
  local tool="$1" dir="$here/$1"
  [ -f "$dir/go.mod" ] || { echo "levee: unknown tool '$tool' (no $dir/go.mod)" >&2; exit 2; }
  local ldflags key tags
  ldflags="-s -w $(version_ldflags "$tool")"
  tags="$(build_tags "$tool")"
  key="$( (go env GOVERSION; echo "$ldflags"; [ -z "$tags" ] || echo "$tags"; cat "$dir/go.mod" "$dir/go.sum" $(compgen -G "$dir/*.go" || true)) | sha256sum | cut -c1-16)"
  # The package to build: the go.mod's `tool` directive, else the module's own main.go.
  local package
  package="$(sed -n 's/^tool[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' "$dir/go.mod" | head -n1)"
  package="${package:-.}"
  local out="$cache_root/$tool-$key/$tool"
  if [ -x "$out" ]; then
    echo "$out"
    return
  fi
  mkdir -p "$(dirname "$out")"
  # Two checkouts (or a test run beside `npm start`) asking for the same cold tool build it once:
  # the second waits for the first and then finds the binary.
  exec {lock_fd}>"$(dirname "$out")/build.lock"
  flock "$lock_fd"
  if [ -x "$out" ]; then
    exec {lock_fd}>&-
    echo "$out"
    return
  fi
  echo "levee: building $tool (cold build; cached at $(dirname "$out") afterwards)..." >&2
  local started=$SECONDS
  (cd "$dir" && go build -tags="$tags" -ldflags="$ldflags" -o "$out.tmp.$$" "$package")
  mv "$out.tmp.$$" "$out"
  exec {lock_fd}>&-
  echo "levee: built $tool in $((SECONDS - started))s" >&2
  echo "$out"
}

[ $# -gt 0 ] || { echo "usage: tools/build.sh opa|kube|etcd|kwok|helm|promtool|oci-archive|webhook-match|gatekeeper ..." >&2; exit 2; }
for tool in "$@"; do build_one "$tool"; done
