// PodSecurity (upstream's built-in plugin): each namespace's labels
// `pod-security.kubernetes.io/{enforce,audit,warn}` (level privileged | baseline | restricted) and
// `…-version` (latest | v1.N) pick the Pod Security Standard a pod is held to. enforce refuses a
// pod that violates it ("violates PodSecurity "restricted:latest": …"); warn adds a "would
// violate" warning; audit records an audit annotation. Pods are checked on create and on updates
// that matter (containers added, images, seccomp annotations); workloads' pod templates
// (Deployment, ReplicaSet, StatefulSet, DaemonSet, Job, CronJob, ReplicationController,
// PodTemplate) get warn and audit only. Invalid labels are refused on the namespace and, when
// found on one anyway, evaluated as restricted:latest (fail closed). Raising a namespace's enforce
// level warns about the pods already there that would be refused.
import type { KubeObject } from '../../../api/index.js';
import { errForbidden, errInvalid } from '../../status.js';
import type { AdmissionAttributes, AdmissionPlugin } from '../types.js';
import { describe, evaluatePod, type Level } from './checks.js';

const PREFIX = 'pod-security.kubernetes.io/';
const MODES = ['enforce', 'audit', 'warn'] as const;
type Mode = (typeof MODES)[number];
/** The newest policy version this server knows (Kubernetes 1.32). */
const LATEST_MINOR = 32;
const LEVELS: Level[] = ['privileged', 'baseline', 'restricted'];
const strictness = (l: Level) => LEVELS.indexOf(l);

interface Policy {
  level: Level;
  /** Minor version of 1.x the checks follow; 'latest' = LATEST_MINOR. */
  minor: number;
  version: string;
}
const policyString = (p: Policy) => `${p.level}:${p.version}`;

type Obj = Record<string, any>;

/** The namespace's policy per mode, and what is wrong with its labels. */
export function namespacePolicy(labels: Record<string, string> | undefined): {
  policy: Record<Mode, Policy>;
  errors: { field: string; value: string; message: string }[];
} {
  const errors: { field: string; value: string; message: string }[] = [];
  const policy = {} as Record<Mode, Policy>;
  for (const mode of MODES) {
    let level: Level = 'privileged';
    let version = 'latest';
    let minor = LATEST_MINOR;
    const l = labels?.[`${PREFIX}${mode}`];
    if (l !== undefined) {
      if ((LEVELS as string[]).includes(l)) level = l as Level;
      else {
        errors.push({
          field: `${PREFIX}${mode}`,
          value: l,
          message: 'must be one of privileged, baseline, restricted',
        });
        level = 'restricted';
      }
    }
    const v = labels?.[`${PREFIX}${mode}-version`];
    if (v !== undefined) {
      const m = /^v1\.(0|[1-9][0-9]*)$/.exec(v);
      if (v === 'latest') version = 'latest';
      else if (m) {
        version = v;
        minor = Math.min(Number(m[1]), LATEST_MINOR);
      } else {
        errors.push({ field: `${PREFIX}${mode}-version`, value: v, message: "must be 'latest' or 'v1.x'" });
        level = 'restricted';
        version = 'latest';
      }
    }
    policy[mode] = { level, version, minor };
  }
  return { policy, errors };
}

/** The pod (metadata, spec) inside an object: a Pod, or a workload's pod template. */
function podOf(a: AdmissionAttributes, obj: KubeObject | undefined): { meta: Obj; spec: Obj } | undefined {
  if (!obj) return undefined;
  const o = obj as Obj;
  if (a.def.plural === 'pods') return { meta: o.metadata ?? {}, spec: o.spec ?? {} };
  const t =
    a.def.plural === 'cronjobs'
      ? o.spec?.jobTemplate?.spec?.template
      : a.def.plural === 'podtemplates'
        ? o.template
        : o.spec?.template;
  return t ? { meta: t.metadata ?? {}, spec: t.spec ?? {} } : undefined;
}

const WORKLOADS: Record<string, string[]> = {
  '': ['replicationcontrollers', 'podtemplates'],
  apps: ['deployments', 'replicasets', 'statefulsets', 'daemonsets'],
  batch: ['jobs', 'cronjobs'],
};

/** Upstream's isSignificantPodUpdate: containers added or removed, images, seccomp annotations. */
function significantPodUpdate(pod: Obj, old: Obj): boolean {
  const s = pod.spec ?? {},
    o = old.spec ?? {};
  const ann = pod.metadata?.annotations ?? {},
    oann = old.metadata?.annotations ?? {};
  if ((s.containers ?? []).length !== (o.containers ?? []).length) return true;
  if ((s.initContainers ?? []).length !== (o.initContainers ?? []).length) return true;
  const changed = (c: Obj, oc: Obj) =>
    c.image !== oc.image ||
    ann[`container.seccomp.security.alpha.kubernetes.io/${c.name}`] !==
      oann[`container.seccomp.security.alpha.kubernetes.io/${c.name}`];
  for (const [i, c] of (s.containers ?? []).entries()) if (changed(c ?? {}, o.containers[i] ?? {})) return true;
  for (const [i, c] of (s.initContainers ?? []).entries()) if (changed(c ?? {}, o.initContainers[i] ?? {})) return true;
  for (const c of s.ephemeralContainers ?? []) {
    const oc = (o.ephemeralContainers ?? []).find((x: Obj) => x?.name === c?.name);
    if (!oc || changed(c ?? {}, oc)) return true;
  }
  return ann['seccomp.security.alpha.kubernetes.io/pod'] !== oann['seccomp.security.alpha.kubernetes.io/pod'];
}

async function checkPodOrTemplate(a: AdmissionAttributes, isPod: boolean): Promise<void> {
  const pod = podOf(a, a.object);
  if (!pod || !a.namespace) return;
  if (a.operation === 'UPDATE') {
    if (isPod && !significantPodUpdate(a.object as Obj, (a.oldObject ?? {}) as Obj)) return;
    if (!isPod) {
      const old = podOf(a, a.oldObject);
      if (old && JSON.stringify(old) === JSON.stringify(pod)) return;
    }
  }
  const ns = await a.reader.get('', 'namespaces', undefined, a.namespace);
  const { policy, errors } = namespacePolicy(ns?.metadata.labels);
  if (errors.length)
    a.auditAnnotations['pod-security.kubernetes.io/error'] = `Failed to parse policy: ${errors[0].message}`;
  const results = new Map<string, ReturnType<typeof evaluatePod>>();
  const evaluate = (p: Policy) => {
    const k = policyString(p);
    if (!results.has(k)) results.set(k, evaluatePod(p.level, p.minor, pod.meta, pod.spec));
    return results.get(k)!;
  };
  if (isPod && policy.enforce.level !== 'privileged') {
    const v = evaluate(policy.enforce);
    if (v.length) {
      a.auditAnnotations['pod-security.kubernetes.io/enforce-policy'] = policyString(policy.enforce);
      throw errForbidden(
        `pods "${a.name ?? ''}" is forbidden: violates PodSecurity ${JSON.stringify(policyString(policy.enforce))}: ${describe(v)}`,
        { resource: 'pods', name: a.name },
      );
    }
  }
  if (policy.audit.level !== 'privileged') {
    const v = evaluate(policy.audit);
    if (v.length)
      a.auditAnnotations['pod-security.kubernetes.io/audit-violations'] =
        `would violate PodSecurity ${JSON.stringify(policyString(policy.audit))}: ${describe(v)}`;
  }
  if (policy.warn.level !== 'privileged') {
    const v = evaluate(policy.warn);
    if (v.length)
      a.warnings.push(`would violate PodSecurity ${JSON.stringify(policyString(policy.warn))}: ${describe(v)}`);
  }
}

/** Namespace writes: labels must be valid; a stricter enforce level warns about existing pods. */
async function checkNamespace(a: AdmissionAttributes): Promise<void> {
  const labels = a.object?.metadata.labels;
  const { policy, errors } = namespacePolicy(labels);
  if (a.operation === 'UPDATE') {
    const before = namespacePolicy(a.oldObject?.metadata.labels);
    const same = MODES.every(
      (m) =>
        labels?.[`${PREFIX}${m}`] === a.oldObject?.metadata.labels?.[`${PREFIX}${m}`] &&
        labels?.[`${PREFIX}${m}-version`] === a.oldObject?.metadata.labels?.[`${PREFIX}${m}-version`],
    );
    if (same) return;
    if (errors.length) throw invalidLabels(a, errors);
    const next = policy.enforce,
      prev = before.policy.enforce;
    if (
      next.level === 'privileged' ||
      policyString(next) === policyString(prev) ||
      (next.version === prev.version && strictness(next.level) < strictness(prev.level))
    )
      return;
    const pods = await a.reader.list('', 'pods', a.name);
    const groups = new Map<string, { first: string; count: number }>();
    for (const p of pods.sort((x, y) => ((x.metadata.name ?? '') < (y.metadata.name ?? '') ? -1 : 1))) {
      const v = evaluatePod(next.level, next.minor, p.metadata, (p.spec ?? {}) as Obj);
      if (!v.length) continue;
      const key = v.map((x) => x.reason).join(', ');
      const g = groups.get(key);
      if (g) g.count++;
      else groups.set(key, { first: p.metadata.name ?? '', count: 1 });
    }
    if (!groups.size) return;
    a.warnings.push(
      `existing pods in namespace ${JSON.stringify(a.name)} violate the new PodSecurity enforce level ${JSON.stringify(policyString(next))}`,
    );
    const lines = [...groups].map(([reasons, g]) => {
      const who =
        g.count === 1
          ? g.first
          : g.count === 2
            ? `${g.first} (and 1 other pod)`
            : `${g.first} (and ${g.count - 1} other pods)`;
      return `${who}: ${reasons}`;
    });
    a.warnings.push(...lines.sort());
    return;
  }
  if (errors.length) throw invalidLabels(a, errors);
}

function invalidLabels(a: AdmissionAttributes, errors: { field: string; value: string; message: string }[]) {
  return errInvalid(
    { resource: 'namespaces', kind: 'Namespace', name: a.name },
    errors.map((e) => ({
      type: 'FieldValueInvalid' as const,
      field: `metadata.labels[${e.field}]`,
      message: `Invalid value: ${JSON.stringify(e.value)}: ${e.message}`,
    })),
  );
}

export const podSecurity: AdmissionPlugin = {
  name: 'PodSecurity',
  async validate(a) {
    if (a.operation === 'DELETE' || !a.object || a.subresource !== '' || a.def.custom) return;
    if (a.def.group === '' && a.def.plural === 'namespaces') return checkNamespace(a);
    if (a.def.group === '' && a.def.plural === 'pods') return checkPodOrTemplate(a, true);
    if (WORKLOADS[a.def.group]?.includes(a.def.plural)) return checkPodOrTemplate(a, false);
  },
};
