#!/usr/bin/env bash
# Builds CoreDNS (the peer of `npm run bench -- dns`) from the Go module proxy with the machine's Go
# and caches the binary; prints its path. Never needed by `npm start` or `npm test`.
set -euo pipefail
VERSION="${COREDNS_VERSION:-v1.12.4}"
CACHE="${SKIFF_TOOLS_CACHE:-/var/cache/skiff-tools}"
OUT="$CACHE/coredns-$VERSION"
if [ -x "$OUT" ]; then echo "$OUT"; exit 0; fi
command -v go >/dev/null || { echo "build-coredns: Go is not installed" >&2; exit 1; }
mkdir -p "$CACHE"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
GOBIN="$TMP/bin" GOFLAGS=-mod=mod CGO_ENABLED=0 go install "github.com/coredns/coredns@$VERSION" >&2
mv "$TMP/bin/coredns" "$OUT"
echo "$OUT"
