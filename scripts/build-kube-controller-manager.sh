#!/bin/sh
# The real kube-controller-manager (the controllers benchmark's peer); see build-kube-component.sh.
exec "$(dirname "$0")/build-kube-component.sh" kube-controller-manager "$@"
