#!/usr/bin/env bash
# Builds the real helm client (helm.sh/helm/v3, a version the Go module proxy serves here) with the
# installed Go toolchain and caches it under $SKIFF_TOOLS_DIR (default /var/cache/skiff-tools/
# helm-VERSION/). A client for the slow e2e suite only: the product never needs it and `npm start`
# never runs this. Prints the binary's path on stdout; exits at once when it is already built.
set -euo pipefail
VERSION="${HELM_VERSION:-v3.21.4}"
DIR="${SKIFF_TOOLS_DIR:-/var/cache/skiff-tools}/helm-${VERSION}"
if [[ -x "$DIR/helm" ]]; then echo "$DIR/helm"; exit 0; fi
command -v go >/dev/null || { echo "build-helm: go is not installed" >&2; exit 1; }
export GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0
rm -rf "$DIR.tmp"
GOBIN="$DIR.tmp" go install "helm.sh/helm/v3/cmd/helm@${VERSION}" >&2
mkdir -p "$DIR"
mv "$DIR.tmp/helm" "$DIR/helm"
rmdir "$DIR.tmp"
echo "$DIR/helm"
