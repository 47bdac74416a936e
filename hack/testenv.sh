#!/usr/bin/env bash
# Builds the real test control plane (kube-apiserver + etcd) and, on request, the real Flux controllers from Go
# modules served by the Go module proxy. Nothing else is downloaded. Every binary is cached under
# $TESTENV_DIR/<component>-<version>/ and reused when present, so only the first run pays for the build.
#
# Usage: hack/testenv.sh control-plane      -> prints the directory holding kube-apiserver and etcd
#        hack/testenv.sh cluster            -> prints the directory holding kube-controller-manager and kube-scheduler
#        hack/testenv.sh flux-crds          -> prints the directory holding the Flux CRDs (no build, module zips only)
#        hack/testenv.sh flux               -> prints the directory holding the Flux controllers and their CRDs
#        hack/testenv.sh tinkerbell VERSION -> prints the directory holding the real Tinkerbell binary of VERSION
#                                              (v0.24.0 or later: the module proxy refuses older versions)
set -euo pipefail

TESTENV_DIR=${TESTENV_DIR:-$(cd "$(dirname "$0")/.." && pwd)/bin/testenv}
KUBE_VERSION=${KUBE_VERSION:-v1.37.2}
ETCD_VERSION=${ETCD_VERSION:-v3.6.16}
# The shared reference material beside the repository: the quamina source snapshot the Tinkerbell build needs.
SHARED_DIR=${SHARED_DIR:-$(cd "$(dirname "$0")/../.." && pwd)/shared}
SOURCE_CONTROLLER_VERSION=${SOURCE_CONTROLLER_VERSION:-v1.9.6}
HELM_CONTROLLER_VERSION=${HELM_CONTROLLER_VERSION:-v1.6.4}
KUSTOMIZE_CONTROLLER_VERSION=${KUSTOMIZE_CONTROLLER_VERSION:-v1.9.6}
export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local

log() { echo "testenv: $*" >&2; }

# build_kube COMMAND DIR: k8s.io/kubernetes replaces its staging modules with ./staging/src paths, which are not
# in the module zip; a wrapper module points each of them at the published v0.X.Y instead. kube-apiserver,
# kube-controller-manager and kube-scheduler build from the same wrapper (and share Go's build cache).
build_kube() {
  local cmd=$1 out=$2 work staging_version=v0.${KUBE_VERSION#v1.} mods
  work=$(mktemp -d); trap 'rm -rf "$work"; trap - RETURN' RETURN
  cd "$work"
  go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" >/dev/null
  mods=$(awk '/=> \.\/staging\/src\//{print $1}' "$(go env GOMODCACHE)/cache/download/k8s.io/kubernetes/@v/$KUBE_VERSION.mod")
  {
    printf 'module kubetink.io/testenv/%s\n\ngo 1.26.0\n\nrequire k8s.io/kubernetes %s\n\n' "$cmd" "$KUBE_VERSION"
    for m in $mods; do
      # sample-cli-plugin and sample-controller are not published at every version and not needed.
      case $m in k8s.io/sample-*) continue ;; esac
      printf 'replace %s => %s %s\n' "$m" "$m" "$staging_version"
    done
  } >go.mod
  go get -tool "k8s.io/kubernetes/cmd/$cmd@$KUBE_VERSION"
  local minor ldflags="-s -w" p
  minor=$(echo "$KUBE_VERSION" | cut -d. -f2)
  # Stamp the version so clients (and Helm's kubeVersion checks) see v1.X.Y rather than v0.0.0-master.
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags="$ldflags -X $p.gitVersion=$KUBE_VERSION -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  go build -trimpath -ldflags "$ldflags" -o "$out/$cmd" "k8s.io/kubernetes/cmd/$cmd"
}

# build_etcd DIR: go.etcd.io/etcd/server/v3 has the etcd main package at its root.
build_etcd() {
  local out=$1 work
  work=$(mktemp -d); trap 'rm -rf "$work"; trap - RETURN' RETURN
  cd "$work"
  printf 'module kubetink.io/testenv/etcd\n\ngo 1.26.0\n' >go.mod
  go get -tool "go.etcd.io/etcd/server/v3@$ETCD_VERSION"
  go build -trimpath -ldflags "-s -w" -o "$out/etcd" go.etcd.io/etcd/server/v3
}

# build_flux_controller NAME VERSION DIR: one wrapper module per controller, carrying the controller's own
# non-local replace directives so the build matches upstream.
build_flux_controller() {
  local ctrl=$1 ver=$2 out=$3 work mod=github.com/fluxcd/$1 upstream
  work=$(mktemp -d); trap 'rm -rf "$work"; trap - RETURN' RETURN
  cd "$work"
  go mod download -json "$mod@$ver" >/dev/null
  upstream=$(go env GOMODCACHE)/cache/download/github.com/fluxcd/$ctrl/@v/$ver.mod
  {
    printf 'module kubetink.io/testenv/%s\n\ngo 1.26.0\n\n' "$ctrl"
    awk '/^replace \(/{blk=1;next} blk&&/^\)/{blk=0;next}
         /=>/{ l=$0; sub(/^replace[ \t]+/,"",l); sub(/^[ \t]+/,"",l); split(l,a,"=>"); r=a[2]; gsub(/^[ \t]+/,"",r);
               if (r !~ /^\./ && (blk || $0 ~ /^replace /)) print "replace " l }' "$upstream"
    # source-controller v1.9.6 wants github.com/fluxcd/pkg/artifact v0.18.3, which the proxy refuses (403).
    [[ $ctrl == source-controller ]] && echo "replace github.com/fluxcd/pkg/artifact => github.com/fluxcd/pkg/artifact v0.18.1"
  } >go.mod
  go get -tool "$mod@$ver"
  install -m 0644 "$(go env GOMODCACHE)/$mod@$ver"/config/crd/bases/*.yaml "$out/crds/"
  go build -trimpath -ldflags "-s -w" -o "$out/$ctrl" "$mod"
}

# build_tinkerbell VERSION DIR: the real upstream binary (cmd/tinkerbell: Smee, Tootles, Tink server and
# controller, Rufio in one process). Two things the module alone does not give: its api/ nested module is replaced
# with ./api, which is not in the module zip (the wrapper uses the published .../tinkerbell/api of the same
# version), and quamina.net/go/quamina is refused by the proxy at every version (the wrapper uses the source
# snapshot of the commit upstream pins, in $SHARED_DIR/upstream/go-src). Upstream's other replaces are kept.
build_tinkerbell() {
  local ver=$1 out=$2 work upstream goline quamina
  quamina=$SHARED_DIR/upstream/go-src/quamina-0526acc321a8
  [[ -f $quamina/go.mod ]] || { log "the quamina source snapshot is missing ($quamina): set SHARED_DIR"; return 1; }
  work=$(mktemp -d); trap 'rm -rf "$work"; trap - RETURN' RETURN
  cd "$work"
  go mod download -json "github.com/tinkerbell/tinkerbell@$ver" >/dev/null
  upstream=$(go env GOMODCACHE)/cache/download/github.com/tinkerbell/tinkerbell/@v/$ver.mod
  goline=$(awk '$1 == "go" { print $2; exit }' "$upstream")
  {
    printf 'module kubetink.io/testenv/tinkerbell\n\ngo %s\n\nrequire github.com/tinkerbell/tinkerbell %s\n\n' "$goline" "$ver"
    printf 'replace github.com/tinkerbell/tinkerbell/api => github.com/tinkerbell/tinkerbell/api %s\n' "$ver"
    printf 'replace quamina.net/go/quamina => %s\n' "$quamina"
    awk '/^replace \(/{blk=1;next} blk&&/^\)/{blk=0;next}
         /=>/ && (blk || /^replace /) { l=$0; sub(/^replace[ \t]+/,"",l); sub(/^[ \t]+/,"",l); split(l,a,"=>"); r=a[2];
           gsub(/^[ \t]+/,"",r); if (r !~ /^\./) print "replace " l }' "$upstream"
  } >go.mod
  go get "github.com/tinkerbell/tinkerbell/cmd/tinkerbell@$ver"
  go build -trimpath -ldflags "-s -w" -o "$out/tinkerbell" github.com/tinkerbell/tinkerbell/cmd/tinkerbell
}

# cached NAME DIR BUILD-ARGS...: runs the build into a temporary directory and renames it into place, so an
# interrupted build never leaves a half-filled cache entry behind.
cached() {
  local name=$1 dir=$2; shift 2
  if [[ -f $dir/.complete ]]; then return; fi
  log "building $name into $dir (first run only; several minutes)"
  local tmp=$dir.tmp.$$ start=$SECONDS
  rm -rf "$tmp"; mkdir -p "$tmp/crds"
  ("$@" "$tmp")
  touch "$tmp/.complete"
  rm -rf "$dir"; mv "$tmp" "$dir"
  log "built $name in $((SECONDS - start))s"
}

control_plane() {
  local dir=$TESTENV_DIR/k8s-$KUBE_VERSION-etcd-$ETCD_VERSION
  cached "kube-apiserver $KUBE_VERSION" "$TESTENV_DIR/kube-apiserver-$KUBE_VERSION" build_kube kube-apiserver
  cached "etcd $ETCD_VERSION" "$TESTENV_DIR/etcd-$ETCD_VERSION" build_etcd
  # envtest wants both binaries in one directory.
  mkdir -p "$dir"
  ln -sf "$TESTENV_DIR/kube-apiserver-$KUBE_VERSION/kube-apiserver" "$dir/kube-apiserver"
  ln -sf "$TESTENV_DIR/etcd-$ETCD_VERSION/etcd" "$dir/etcd"
  echo "$dir"
}

# cluster: what turns the API objects into a cluster without containers: kube-controller-manager (Deployments,
# ReplicaSets, DaemonSets, Jobs, PersistentVolume binding, garbage collection) and kube-scheduler.
cluster() {
  local dir=$TESTENV_DIR/cluster-$KUBE_VERSION c
  for c in kube-controller-manager kube-scheduler; do
    cached "$c $KUBE_VERSION" "$TESTENV_DIR/$c-$KUBE_VERSION" build_kube "$c"
  done
  mkdir -p "$dir"
  for c in kube-controller-manager kube-scheduler; do
    ln -sf "$TESTENV_DIR/$c-$KUBE_VERSION/$c" "$dir/$c"
  done
  echo "$dir"
}

tinkerbell() {
  local ver=${1:?usage: $0 tinkerbell VERSION}
  local dir=$TESTENV_DIR/tinkerbell-$ver
  cached "tinkerbell $ver" "$dir" build_tinkerbell "$ver"
  echo "$dir"
}

flux() {
  local dir=$TESTENV_DIR/flux-source-$SOURCE_CONTROLLER_VERSION-helm-$HELM_CONTROLLER_VERSION-kustomize-$KUSTOMIZE_CONTROLLER_VERSION
  cached "source-controller $SOURCE_CONTROLLER_VERSION" "$TESTENV_DIR/source-controller-$SOURCE_CONTROLLER_VERSION" \
    build_flux_controller source-controller "$SOURCE_CONTROLLER_VERSION"
  cached "helm-controller $HELM_CONTROLLER_VERSION" "$TESTENV_DIR/helm-controller-$HELM_CONTROLLER_VERSION" \
    build_flux_controller helm-controller "$HELM_CONTROLLER_VERSION"
  cached "kustomize-controller $KUSTOMIZE_CONTROLLER_VERSION" "$TESTENV_DIR/kustomize-controller-$KUSTOMIZE_CONTROLLER_VERSION" \
    build_flux_controller kustomize-controller "$KUSTOMIZE_CONTROLLER_VERSION"
  mkdir -p "$dir/crds"
  local c
  for c in source-controller-$SOURCE_CONTROLLER_VERSION helm-controller-$HELM_CONTROLLER_VERSION kustomize-controller-$KUSTOMIZE_CONTROLLER_VERSION; do
    ln -sf "$TESTENV_DIR/$c/${c%-v*}" "$dir/${c%-v*}"
    cp -f "$TESTENV_DIR/$c"/crds/*.yaml "$dir/crds/"
  done
  echo "$dir"
}

# flux_crds copies the CRDs of the pinned Flux controllers out of their Go modules (read-only in the module
# cache, hence install -m 0644), so envtest serves exactly the schemas the real controllers use.
flux_crds() {
  local dir=$TESTENV_DIR/flux-crds-source-$SOURCE_CONTROLLER_VERSION-helm-$HELM_CONTROLLER_VERSION-kustomize-$KUSTOMIZE_CONTROLLER_VERSION
  if [[ ! -f $dir/.complete ]]; then
    local tmp=$dir.tmp.$$ m d
    rm -rf "$tmp"; mkdir -p "$tmp"
    for m in source-controller@$SOURCE_CONTROLLER_VERSION helm-controller@$HELM_CONTROLLER_VERSION kustomize-controller@$KUSTOMIZE_CONTROLLER_VERSION; do
      d=$(cd "$tmp" && go mod download -json "github.com/fluxcd/$m" | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
      install -m 0644 "$d"/config/crd/bases/*.yaml "$tmp/"
    done
    touch "$tmp/.complete"; rm -rf "$dir"; mv "$tmp" "$dir"
  fi
  echo "$dir"
}

case ${1:-} in
  control-plane) control_plane ;;
  cluster) cluster ;;
  tinkerbell) tinkerbell "${2:-}" ;;
  flux-crds) flux_crds ;;
  flux) flux ;;
  *) echo "usage: $0 control-plane|cluster|flux-crds|flux|tinkerbell VERSION" >&2; exit 2 ;;
esac
