// kube-controller-manager's command-line flags that Skiff's controllers honour, given as k3s's
// `--kube-controller-manager-arg NAME=VALUE` (repeatable): the HorizontalPodAutoscaler tuning
// (sync period, tolerance, CPU initialization period, initial readiness delay, downscale
// stabilization), the node monitor grace period and `controllers` (which controllers run, by
// kube-controller-manager's names: `*,-ttl-controller`). Any other flag is refused by name, so a
// mistyped flag never goes unnoticed.
import { durationFlag, parseComponentFlags, type FlagSetters } from '../api/index.js';
import type { StartControllersOptions } from './set.js';
import { invalidArgument } from '../../common/index.js';

type Tunable = Pick<StartControllersOptions, 'hpa' | 'nodeLifecycle' | 'controllers'>;

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
  controllers: (o, f, v) => {
    o.controllers = selectControllers(f, v);
  },
};

/** kube-controller-manager 1.32's names of the controllers Skiff runs, by Skiff's name: each
 *  upstream controller as [its name, the older aliases it still takes]; storage-protection is
 *  upstream's two protection controllers. */
const UPSTREAM: Record<string, string[][]> = {
  garbagecollector: [['garbage-collector-controller', 'garbagecollector']],
  namespace: [['namespace-controller', 'namespace']],
  replicaset: [['replicaset-controller', 'replicaset']],
  deployment: [['deployment-controller', 'deployment']],
  serviceaccount: [['serviceaccount-controller', 'serviceaccount']],
  'root-ca-cert-publisher': [['root-ca-certificate-publisher-controller', 'root-ca-cert-publisher']],
  endpoints: [['endpoints-controller', 'endpoint']],
  endpointslice: [['endpointslice-controller', 'endpointslice']],
  job: [['job-controller', 'job']],
  'ttl-after-finished': [['ttl-after-finished-controller', 'ttl-after-finished']],
  cronjob: [['cronjob-controller', 'cronjob']],
  daemonset: [['daemonset-controller', 'daemonset']],
  statefulset: [['statefulset-controller', 'statefulset']],
  'node-lifecycle': [['node-lifecycle-controller', 'nodelifecycle']],
  'taint-eviction': [['taint-eviction-controller']],
  'pod-garbage-collector': [['pod-garbage-collector-controller', 'podgc']],
  disruption: [['disruption-controller', 'disruption']],
  resourcequota: [['resourcequota-controller', 'resourcequota']],
  'persistentvolume-binder': [['persistentvolume-binder-controller', 'persistentvolume-binder']],
  'horizontal-pod-autoscaler': [['horizontal-pod-autoscaler-controller', 'horizontalpodautoscaling']],
  ttl: [['ttl-controller', 'ttl']],
  'storage-protection': [
    ['persistentvolumeclaim-protection-controller', 'pvc-protection'],
    ['persistentvolume-protection-controller', 'pv-protection'],
  ],
};
/** Any accepted name → the upstream controller's own name. */
const CANONICAL = new Map(
  Object.values(UPSTREAM)
    .flat()
    .flatMap((names) => names.map((n) => [n, names[0]] as const)),
);
/** Kept whatever the flag says: kube-apiserver's `kubernetes` Service and k3s's ServiceLB are not
 *  kube-controller-manager's to turn off. */
const ALWAYS = ['kubernetes-service', 'servicelb'];

/** `--controllers` as kube-controller-manager reads it: the first entry naming a controller
 *  (`name` on, `-name` off; aliases count as the name) decides; else `*` turns on every default
 *  one (all of Skiff's are). */
function selectControllers(flag: string, v: string): string[] {
  const entries = v
    .split(',')
    .map((x) => x.trim())
    .filter(Boolean)
    .map((e) => {
      const off = e.startsWith('-');
      const n = off ? e.slice(1) : e;
      if (n === '*') return { off, name: n };
      const name = CANONICAL.get(n);
      if (!name) throw invalidArgument(`--${flag}: "${n}" is not in the list of known controllers`);
      return { off, name };
    });
  const star = entries.some((e) => e.name === '*' && !e.off);
  const on = (name: string): boolean => {
    const e = entries.find((x) => x.name === name);
    return e ? !e.off : star;
  };
  return [...ALWAYS, ...Object.keys(UPSTREAM).filter((ours) => UPSTREAM[ours].some((names) => on(names[0])))];
}

/** Parses `NAME=VALUE` flags (a leading `--` allowed); throws with the flag's name on a bad one. */
export const parseControllerManagerArgs = (args: readonly string[]): Tunable =>
  parseComponentFlags('kube-controller-manager', args, SETTERS);
