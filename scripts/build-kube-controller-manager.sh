#!/bin/sh
# Builds the real kube-controller-manager (the controllers benchmark's peer) the way the
# kube-scheduler is built, and caches it; prints its path. Never part of the product.
# Usage: scripts/build-kube-controller-manager.sh [VERSION]
set -eu
KUBE_CMD=kube-controller-manager exec "$(dirname "$0")/build-kube-scheduler.sh" "$@"
