#!/usr/bin/env bash
# Builds crictl and critest from sigs.k8s.io/cri-tools (v1.37.0) with the installed Go toolchain and
# caches them under $SKIFF_TOOLS_DIR (default /var/cache/skiff-tools/cri-tools-v1.37.0/). Peers and
# conformance tools only: the product never needs them and `npm start` never runs this.
#   crictl: `go install sigs.k8s.io/cri-tools/cmd/crictl@VERSION` (GOBIN = the cache dir);
#   critest: a Ginkgo test binary, `go test -c` in the module's cmd/critest (built from a writable
#   copy of the module as the Go module proxy delivered it).
# Prints the cache directory on stdout. Idempotent: exits at once when both binaries are there.
set -euo pipefail
VERSION="${CRI_TOOLS_VERSION:-v1.37.0}"
DIR="${SKIFF_TOOLS_DIR:-/var/cache/skiff-tools}/cri-tools-${VERSION}"
if [[ -x "$DIR/crictl" && -x "$DIR/critest" ]]; then echo "$DIR"; exit 0; fi
command -v go >/dev/null || { echo "build-cri-tools: go is not installed" >&2; exit 1; }
mkdir -p "$DIR"
export GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0
if [[ ! -x "$DIR/crictl" ]]; then
  GOBIN="$DIR.tmp" go install "sigs.k8s.io/cri-tools/cmd/crictl@${VERSION}" >&2
  mv "$DIR.tmp/crictl" "$DIR/crictl"; rmdir "$DIR.tmp"
fi
if [[ ! -x "$DIR/critest" ]]; then
  go mod download -json "sigs.k8s.io/cri-tools@${VERSION}" >/dev/null
  SRC="$(go env GOMODCACHE)/sigs.k8s.io/cri-tools@${VERSION}"
  WORK="$(mktemp -d)"; trap 'chmod -R u+w "$WORK"; rm -rf "$WORK"' EXIT
  cp -r "$SRC" "$WORK/cri-tools"; chmod -R u+w "$WORK/cri-tools"
  (cd "$WORK/cri-tools/cmd/critest" && go test -c -o "$DIR/critest.tmp" . >&2)
  mv "$DIR/critest.tmp" "$DIR/critest"
fi
echo "$DIR"
