#!/usr/bin/env bash
# Builds the upstream Kubernetes binaries the end-to-end tests run against
# (etcd, kube-apiserver, kube-controller-manager, kubectl, kwok, helm) from
# their Go modules, into a cache folder shared by every clone of the project:
#
#   ${RUDDER_KUBE_CACHE:-$XDG_CACHE_HOME/rudder/kube}/<versions>/bin
#
# Kubernetes cannot be built with a plain `go install k8s.io/kubernetes/...`:
# its go.mod replaces each k8s.io/* staging module with a local folder. A
# wrapper module requires k8s.io/kubernetes and replaces each staging module
# with its published v0.x twin instead. Go is only a build tool here: no line
# of the product is Go.
#
# Prints the bin folder on stdout (everything else goes to stderr). Idempotent:
# a second run with the binaries present returns at once.
set -euo pipefail
K8S_VERSION="${K8S_VERSION:-1.36.3}"
KWOK_VERSION="${KWOK_VERSION:-0.8.0}"
HELM_VERSION="${HELM_VERSION:-3.22.0}"
say() { printf '\033[1;34m[kube-bins]\033[0m %s\n' "$*" >&2; }
die() { printf '\033[1;31m[kube-bins] FAILED:\033[0m %s\n' "$*" >&2; exit 1; }

CACHE="${RUDDER_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/rudder/kube}"
BIN="$CACHE/k8s-$K8S_VERSION-kwok-$KWOK_VERSION-helm-$HELM_VERSION/bin"
WANT=(etcd kube-apiserver kube-controller-manager kubectl kwok helm)
missing=()
for b in "${WANT[@]}"; do [ -x "$BIN/$b" ] || missing+=("$b"); done
if [ ${#missing[@]} -eq 0 ]; then echo "$BIN"; exit 0; fi

command -v go >/dev/null 2>&1 || die "Go is needed to build ${missing[*]} (the e2e tests' Kubernetes binaries); install Go >= 1.26"
mkdir -p "$BIN"
WORK="$CACHE/build"
mkdir -p "$WORK"
export GOFLAGS="-buildvcs=false -trimpath" CGO_ENABLED=0
minor="${K8S_VERSION#*.}"
staging_version="v0.$minor"

build_kubernetes() {
  local mod="$WORK/kubernetes-$K8S_VERSION"
  mkdir -p "$mod"
  say "wrapper module for k8s.io/kubernetes v$K8S_VERSION (staging modules -> $staging_version)"
  local gomod
  gomod="$(curl -fsSL "https://proxy.golang.org/k8s.io/kubernetes/@v/v$K8S_VERSION.mod")" || die "could not fetch k8s.io/kubernetes v$K8S_VERSION's go.mod from the Go module proxy"
  {
    echo "module rudder.dev/kube-bins"
    echo
    echo "go 1.26"
    echo
    echo "require k8s.io/kubernetes v$K8S_VERSION"
    echo
    # Every `k8s.io/x => ./staging/src/k8s.io/x` becomes `k8s.io/x => k8s.io/x v0.N`.
    echo "$gomod" | sed -nE "s#^[[:space:]]*(k8s\.io/[a-z0-9-]+) => \./staging/src/.*#replace \1 => \1 $staging_version#p"
  } >"$mod/go.mod"
  cat >"$mod/tools.go" <<'EOF'
//go:build tools

package tools

import (
	_ "go.etcd.io/etcd/server/v3/etcdmain"
	_ "k8s.io/kubernetes/cmd/kube-apiserver/app"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
  (
    cd "$mod"
    say "resolving modules (first run downloads a few hundred MB into the Go module cache)"
    go mod tidy -e >&2 2>"$mod/tidy.log" || { cat "$mod/tidy.log" >&2; die "go mod tidy failed"; }
    for cmd in kube-apiserver kube-controller-manager kubectl; do
      [ -x "$BIN/$cmd" ] && continue
      say "building $cmd (a few minutes on 2 cores)"
      go build -o "$BIN/$cmd" "k8s.io/kubernetes/cmd/$cmd" || die "building $cmd failed"
    done
    if [ ! -x "$BIN/etcd" ]; then
      say "building etcd (the version k8s.io/kubernetes v$K8S_VERSION requires)"
      go build -o "$BIN/etcd" go.etcd.io/etcd/server/v3 || die "building etcd failed"
    fi
  )
}

build_plain() { # name module-path package version
  local name="$1" module="$2" pkg="$3" version="$4" mod="$WORK/$1-$4"
  [ -x "$BIN/$name" ] && return 0
  mkdir -p "$mod"
  printf 'module rudder.dev/%s-bin\n\ngo 1.26\n' "$name" >"$mod/go.mod"
  printf '//go:build tools\n\npackage tools\n\nimport _ "%s"\n' "$pkg" >"$mod/tools.go"
  (
    cd "$mod"
    say "building $name v$version"
    go get "$module@v$version" >&2 2>"$mod/get.log" || { cat "$mod/get.log" >&2; die "go get $module@v$version failed"; }
    go mod tidy -e >&2 2>>"$mod/get.log" || true
    go build -o "$BIN/$name" "$pkg" || die "building $name failed"
  )
}

need() { for b in "$@"; do [ -x "$BIN/$b" ] || return 0; done; return 1; }
need etcd kube-apiserver kube-controller-manager kubectl && build_kubernetes
build_plain kwok sigs.k8s.io/kwok sigs.k8s.io/kwok/cmd/kwok "$KWOK_VERSION"
build_plain helm helm.sh/helm/v3 helm.sh/helm/v3/cmd/helm "$HELM_VERSION"
for b in "${WANT[@]}"; do [ -x "$BIN/$b" ] || die "$b is missing after the build"; done
say "ready in $BIN"
echo "$BIN"
