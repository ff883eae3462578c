// kube-controller-manager's command-line flags that Skiff's controllers honour, given as k3s's
// `--kube-controller-manager-arg NAME=VALUE` (repeatable): the HorizontalPodAutoscaler tuning
// (sync period, tolerance, CPU initialization period, initial readiness delay, downscale
// stabilization) and the node monitor grace period. Any other flag is refused by name, so a
// mistyped flag never goes unnoticed.
import { durationFlag, parseComponentFlags, type FlagSetters } from '../api/index.js';
import type { StartControllersOptions } from './set.js';
import { invalidArgument } from '../../common/index.js';

type Tunable = Pick<StartControllersOptions, 'hpa' | 'nodeLifecycle'>;

const duration = (flag: string, v: string): number => durationFlag(flag, v);
const positive = (flag: string, v: string): number => durationFlag(flag, v, 1);

const SETTERS: FlagSetters<Tunable> = {
  'horizontal-pod-autoscaler-sync-period': (o, f, v) => {
    o.hpa = { ...o.hpa, syncPeriodMs: positive(f, v) };
  },
  'horizontal-pod-autoscaler-tolerance': (o, f, v) => {
    const t = Number(v);
    if (!v.trim() || !Number.isFinite(t) || t < 0) throw invalidArgument(`invalid value "${v}" for flag --${f}`);
    o.hpa = { ...o.hpa, tolerance: t };
  },
  'horizontal-pod-autoscaler-cpu-initialization-period': (o, f, v) => {
    o.hpa = { ...o.hpa, cpuInitializationPeriodMs: duration(f, v) };
  },
  'horizontal-pod-autoscaler-initial-readiness-delay': (o, f, v) => {
    o.hpa = { ...o.hpa, initialReadinessDelayMs: duration(f, v) };
  },
  'horizontal-pod-autoscaler-downscale-stabilization': (o, f, v) => {
    o.hpa = { ...o.hpa, downscaleStabilizationMs: duration(f, v) };
  },
  'node-monitor-grace-period': (o, f, v) => {
    o.nodeLifecycle = { ...o.nodeLifecycle, gracePeriodMs: positive(f, v) };
  },
};

/** Parses `NAME=VALUE` flags (a leading `--` allowed); throws with the flag's name on a bad one. */
export const parseControllerManagerArgs = (args: readonly string[]): Tunable =>
  parseComponentFlags('kube-controller-manager', args, SETTERS);
