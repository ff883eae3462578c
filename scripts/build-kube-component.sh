#!/bin/sh
# Builds a real Kubernetes component (kube-scheduler: the scheduler benchmark's peer; kube-proxy:
# the service proxy benchmark's peer; kube-apiserver: the kubectl differential's peer) from the Go
# module proxy and caches the binary; prints its path. Never part of the product: `npm start` does
# not need it.
#
# k8s.io/kubernetes pins its staging modules (k8s.io/api, client-go, ...) with `=> ./staging/...`
# replaces that only work inside its own repository, so a scratch module requires
# k8s.io/kubernetes vX.Y.Z and replaces each of those modules with its published v0.Y.Z.
#
# Usage: scripts/build-kube-component.sh COMPONENT [VERSION]   (default: the installed kubectl's release)
set -eu

NAME="${1:-}"
case "$NAME" in
  kube-scheduler|kube-proxy|kube-controller-manager|kube-apiserver) ;;
  *) echo "build-kube-component: want kube-scheduler, kube-proxy, kube-controller-manager or kube-apiserver, got '$NAME'" >&2; exit 2 ;;
esac
VER="${2:-}"
if [ -z "$VER" ]; then
  VER=$(kubectl version --client -o json 2>/dev/null | sed -n 's/.*"gitVersion": *"v\([0-9]*\.[0-9]*\.[0-9]*\).*/\1/p' | head -n1)
fi
case "$VER" in
  1.[0-9]*.[0-9]*) ;;
  *) echo "build-kube-component: want a version like 1.32.4, got '$VER'" >&2; exit 2 ;;
esac
CACHE="${SKIFF_TOOLS_CACHE:-/var/cache/skiff-tools}/$NAME-v$VER"
OUT="$CACHE/$NAME"
if [ -x "$OUT" ]; then
  echo "$OUT"
  exit 0
fi
command -v go >/dev/null || { echo "build-kube-component: go is not installed" >&2; exit 1; }

STAGING="0.${VER#1.}"
WORK=$(mktemp -d /tmp/skiff-$NAME-build-XXXXXX)
trap 'rm -rf "$WORK"' EXIT
PROXY="$(go env GOPROXY | cut -d, -f1)"
[ "$PROXY" = "direct" ] || [ "$PROXY" = "off" ] && PROXY=https://proxy.golang.org
curl -fsSL "$PROXY/k8s.io/kubernetes/@v/v$VER.mod" -o "$WORK/kubernetes.mod"

cd "$WORK"
go mod init skiff.local/$NAME-build >/dev/null 2>&1
go mod edit -require="k8s.io/kubernetes@v$VER"
# Every `k8s.io/X => ./staging/src/k8s.io/X` of upstream's go.mod becomes `k8s.io/X => k8s.io/X vSTAGING`.
for m in $(sed -n 's#^[[:space:]]*\(k8s\.io/[A-Za-z0-9._-]*\) => \./staging/.*#\1#p' kubernetes.mod); do
  go mod edit -replace="$m=$m@v$STAGING"
done
echo "build-kube-component: fetching modules for k8s.io/kubernetes v$VER (staging v$STAGING)" >&2
go get -tool "k8s.io/kubernetes/cmd/$NAME@v$VER" >&2
mkdir -p "$CACHE"
echo "build-kube-component: compiling $NAME" >&2
CGO_ENABLED=0 go build -trimpath \
  -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=v$VER -X k8s.io/client-go/pkg/version.gitVersion=v$VER" \
  -o "$OUT.tmp" "k8s.io/kubernetes/cmd/$NAME"
mv "$OUT.tmp" "$OUT"
echo "$OUT"
