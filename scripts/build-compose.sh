#!/usr/bin/env bash
# Builds Docker Compose v2's current line (github.com/docker/compose/v5, the `docker compose` CLI
# plugin) with the installed Go toolchain and caches it under $SKIFF_TOOLS_DIR (default
# /var/cache/skiff-tools/compose-VERSION/docker-compose). A peer for the engine's compose tests
# only (Debian ships compose 1.29): the product never needs it and `npm start` never runs this.
# Built from a writable copy of the module as the Go module proxy delivered it (`go mod download`).
# Prints the binary's path on stdout. Idempotent: exits at once when the binary is there.
set -euo pipefail
VERSION="${COMPOSE_VERSION:-v5.6.0}"
DIR="${SKIFF_TOOLS_DIR:-/var/cache/skiff-tools}/compose-${VERSION}"
if [[ -x "$DIR/docker-compose" ]]; then echo "$DIR/docker-compose"; exit 0; fi
command -v go >/dev/null || { echo "build-compose: go is not installed" >&2; exit 1; }
mkdir -p "$DIR"
export GOFLAGS="${GOFLAGS:--buildvcs=false}" CGO_ENABLED=0
go mod download -json "github.com/docker/compose/v5@${VERSION}" >/dev/null
SRC="$(go env GOMODCACHE)/github.com/docker/compose/v5@${VERSION}"
WORK="$(mktemp -d)"; trap 'chmod -R u+w "$WORK"; rm -rf "$WORK"' EXIT
cp -r "$SRC" "$WORK/compose"; chmod -R u+w "$WORK/compose"
(cd "$WORK/compose" && go build -trimpath \
  -ldflags "-s -w -X github.com/docker/compose/v5/internal.Version=${VERSION}" \
  -o "$DIR/docker-compose.tmp" ./cmd >&2)
mv "$DIR/docker-compose.tmp" "$DIR/docker-compose"
echo "$DIR/docker-compose"
