// kube-controller-manager's command-line flags that Skiff's controllers honour, given as k3s's
// `--kube-controller-manager-arg NAME=VALUE` (repeatable): the HorizontalPodAutoscaler tuning
// (sync period, tolerance, CPU initialization period, initial readiness delay, downscale
// stabilization) and the node monitor grace period. Any other flag is refused by name, so a
// mistyped flag never goes unnoticed.
import { parseGoDuration } from '../api/index.js';
import type { StartControllersOptions } from './set.js';
import { invalidArgument } from '../../common/index.js';

type Tunable = Pick<StartControllersOptions, 'hpa' | 'nodeLifecycle'>;

const duration = (flag: string, v: string): number => {
  let ms: number;
  try {
    ms = parseGoDuration(v);
  } catch {
    throw invalidArgument(`invalid value "${v}" for flag --${flag}: parse error`);
  }
  return ms;
};

const positive = (flag: string, v: string): number => {
  const ms = duration(flag, v);
  if (ms <= 0) throw invalidArgument(`--${flag} must be greater than 0, got "${v}"`);
  return ms;
};

const SETTERS: Record<string, (o: Tunable, flag: string, v: string) => void> = {
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
export function parseControllerManagerArgs(args: readonly string[]): Tunable {
  const out: Tunable = {};
  for (const a of args) {
    const i = a.indexOf('=');
    const name = (i < 0 ? a : a.slice(0, i)).replace(/^--?/, '');
    const set = SETTERS[name];
    if (!set)
      throw invalidArgument(
        `unknown kube-controller-manager flag "${name}" (known: ${Object.keys(SETTERS).join(', ')})`,
      );
    if (i < 0) throw invalidArgument(`flag --${name} needs a value (${name}=VALUE)`);
    set(out, name, a.slice(i + 1));
  }
  return out;
}
