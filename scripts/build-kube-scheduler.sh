#!/bin/sh
# The real kube-scheduler (the scheduler benchmark's peer); see build-kube-component.sh.
exec "$(dirname "$0")/build-kube-component.sh" kube-scheduler "$@"
