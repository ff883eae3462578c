// ResourceQuota (upstream's plugin, the admission side; the quota controller keeps status): a
// create (and an update that grows a Service or a claim) is measured with the shared evaluators
// (kube/api quota/usage.ts) against every quota of the namespace whose status.hard names what it
// uses and whose scopes select it. Refused with upstream's messages when a pod leaves cpu/memory
// unstated under a quota that limits them ("failed quota: … must specify …"), when the
// controller has not counted a resource yet ("status unknown for quota"), or when it would exceed
// a hard limit ("exceeded quota: …, requested: …, used: …, limited: …"). Admitted usage is added
// to the quotas' status.used at once, with compare-and-swap (retried on a concurrent change), so
// two requests cannot both take the last unit; on dry-run nothing is written.
import {
  addQuantity,
  formatUsage,
  matchesScopes,
  matchingResources,
  objectUsage,
  podConstraint,
  subQuantity,
  type KubeObject,
  type Usage,
} from '../../api/index.js';
import { ApiError, errForbidden } from '../status.js';
import { cmp, parseList, str } from './quantities.js';
import type { AdmissionAttributes, AdmissionPlugin } from './types.js';

const RETRIES = 8;

interface Quota extends KubeObject {
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
}

function handles(a: AdmissionAttributes): boolean {
  if (!a.object || a.subresource !== '') return false;
  if (a.operation === 'CREATE') return true;
  // Usage of these can grow on update (a type change to NodePort, a claim's expansion).
  return (
    a.operation === 'UPDATE' && a.def.group === '' && ['services', 'persistentvolumeclaims'].includes(a.def.plural)
  );
}

function forbidden(a: AdmissionAttributes, why: string): ApiError {
  const resource = `${a.def.plural}${a.def.group ? `.${a.def.group}` : ''}`;
  return errForbidden(`${resource} "${a.name ?? ''}" is forbidden: ${why}`, {
    resource: a.def.plural,
    group: a.def.group,
    name: a.name,
  });
}

const mask = (u: Usage, names: string[]): Usage =>
  Object.fromEntries(Object.entries(u).filter(([k]) => names.includes(k)));

/** The quotas' new status.used, or throws the refusal. */
function evaluate(a: AdmissionAttributes, quotas: Quota[]): Map<Quota, Usage> {
  const { group, plural } = a.def;
  const obj = a.object!;
  const interesting: Quota[] = [];
  for (const qo of quotas) {
    const hardNames = Object.keys(qo.status?.hard ?? {});
    const restricted = matchingResources(group, plural, hardNames);
    if (!restricted.length || !matchesScopes(qo, group, plural, obj)) continue;
    if (group === '' && plural === 'pods') {
      const missing = podConstraint(obj, restricted);
      if (missing) throw forbidden(a, `failed quota: ${qo.metadata.name}: must specify ${missing}`);
    }
    const used = qo.status?.used ?? {};
    const unknown = restricted.filter((r) => !(r in used));
    if (unknown.length)
      throw forbidden(a, `status unknown for quota: ${qo.metadata.name}, resources: ${restricted.sort().join(',')}`);
    interesting.push(qo);
  }
  const out = new Map<Quota, Usage>();
  if (!interesting.length) return out;
  let delta = objectUsage(group, plural, obj);
  const negative = Object.keys(delta).filter((k) => delta[k].mantissa < 0n);
  if (negative.length) throw forbidden(a, `quota usage is negative for resource(s): ${negative.sort().join(',')}`);
  if (a.operation === 'UPDATE' && a.oldObject) {
    const prev = objectUsage(group, plural, a.oldObject);
    delta = Object.fromEntries(
      Object.entries(delta).map(([k, v]) => {
        const d = prev[k] ? subQuantity(v, prev[k]) : v;
        return [k, d.mantissa < 0n ? { ...d, mantissa: 0n } : d];
      }),
    );
  }
  delta = Object.fromEntries(Object.entries(delta).filter(([, v]) => v.mantissa !== 0n));
  if (!Object.keys(delta).length) return out;
  for (const qo of interesting) {
    const hard = parseList(qo.status?.hard);
    const used = parseList(qo.status?.used);
    const requested = mask(delta, Object.keys(hard));
    if (!Object.keys(requested).length) continue;
    const next: Usage = { ...used };
    for (const [k, v] of Object.entries(requested)) next[k] = next[k] ? addQuantity(next[k], v) : v;
    const exceeded = Object.keys(requested).filter((k) => hard[k] && cmp(next[k], hard[k]) > 0);
    if (exceeded.length)
      throw forbidden(
        a,
        `exceeded quota: ${qo.metadata.name}, requested: ${formatUsage(mask(requested, exceeded))}, used: ${formatUsage(
          mask(used, exceeded),
        )}, limited: ${formatUsage(mask(hard, exceeded))}`,
      );
    out.set(qo, next);
  }
  return out;
}

export const resourceQuota: AdmissionPlugin = {
  name: 'ResourceQuota',
  async validate(a) {
    if (!handles(a)) return;
    // Quotas already charged for this request (a retry measures only the others).
    const charged = new Set<string>();
    for (let attempt = 0; ; attempt++) {
      const all = (await a.reader.list('', 'resourcequotas', a.namespace)) as Quota[];
      const quotas = all.filter((qo) => !charged.has(qo.metadata.name ?? ''));
      if (!quotas.length) return;
      const updates = evaluate(a, quotas);
      if (a.dryRun || !updates.size) return;
      try {
        for (const [qo, used] of updates) {
          const next = structuredClone(qo);
          next.status = {
            ...(qo.status ?? {}),
            used: Object.fromEntries(Object.entries(used).map(([k, v]) => [k, str(v)])),
          };
          await a.system.updateStatus('', 'resourcequotas', next);
          charged.add(qo.metadata.name ?? '');
        }
        return;
      } catch (e) {
        // Another request changed a quota meanwhile: measure again against the new usage.
        if (e instanceof ApiError && e.reason === 'Conflict' && attempt < RETRIES) continue;
        throw e;
      }
    }
  },
};
