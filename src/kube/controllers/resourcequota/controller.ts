// ResourceQuota controller (upstream's resourcequota + the core evaluators): status.hard mirrors
// spec.hard and status.used totals what the namespace holds of each named resource — pods and
// their cpu/memory/ephemeral-storage requests and limits (non-terminal pods, init containers as
// upstream: the larger of their max and the containers' sum), services (and load balancers, node
// ports), configmaps, secrets, persistentvolumeclaims and requests.storage (also per storage
// class), resourcequotas, replicationcontrollers and any count/<resource>.<group>. Quota scopes
// (Terminating, NotTerminating, BestEffort, NotBestEffort, PriorityClass) filter the pods.
import { formatQuantity, parseQuantity, type Quantity } from '../../api/index.js';
import { resourcePath } from '../../client/index.js';
import { isNotFound, putStatus } from '../shared/control.js';
import { Loop, type Controller, type ControllerContext } from '../shared/context.js';
import { isTerminal, splitKey } from '../shared/pods.js';
import { R } from '../shared/resources.js';
import type { Container, KubeObject, Pod } from '../shared/types.js';
import type { DiscoveredResource } from '../../client/index.js';
import { discoverResources } from '../../client/index.js';

interface ScopeRequirement {
  scopeName: string;
  operator: string;
  values?: string[];
}
interface Quota extends KubeObject {
  spec?: {
    hard?: Record<string, string>;
    scopes?: string[];
    scopeSelector?: { matchExpressions?: ScopeRequirement[] };
  };
  status?: { hard?: Record<string, string>; used?: Record<string, string> };
}
interface Service extends KubeObject {
  spec?: { type?: string; ports?: { nodePort?: number }[] };
}
interface Claim extends KubeObject {
  spec?: { storageClassName?: string; resources?: { requests?: Record<string, string> } };
}

const ZERO: Quantity = { mantissa: 0n, exponent: 0, format: 'DecimalSI' };
function add(a: Quantity, b: Quantity): Quantity {
  const e = Math.min(a.exponent, b.exponent);
  return {
    mantissa: a.mantissa * 10n ** BigInt(a.exponent - e) + b.mantissa * 10n ** BigInt(b.exponent - e),
    exponent: e,
    format: a.mantissa === 0n ? b.format : a.format,
  };
}
function max(a: Quantity, b: Quantity): Quantity {
  const e = Math.min(a.exponent, b.exponent);
  return a.mantissa * 10n ** BigInt(a.exponent - e) >= b.mantissa * 10n ** BigInt(b.exponent - e) ? a : b;
}
const q = (v: unknown): Quantity => {
  try {
    return typeof v === 'string' || typeof v === 'number' ? parseQuantity(v) : ZERO;
  } catch {
    return ZERO;
  }
};

/** A pod's total of `resource` in requests or limits (upstream's PodRequests/PodLimits). */
function podResource(p: Pod, kind: 'requests' | 'limits', resource: string): Quantity {
  const of = (c: Container) => q((c?.resources?.[kind] ?? {})[resource]);
  const sum = (p.spec?.containers ?? []).reduce((acc, c) => add(acc, of(c)), ZERO);
  const init = (p.spec?.initContainers ?? []).reduce((acc, c) => max(acc, of(c)), ZERO);
  const overhead = q(((p.spec as { overhead?: Record<string, string> } | undefined)?.overhead ?? {})[resource]);
  return add(max(sum, init), overhead);
}

const isBestEffort = (p: Pod) =>
  [...(p.spec?.containers ?? []), ...(p.spec?.initContainers ?? [])].every(
    (c) => !Object.keys(c?.resources?.requests ?? {}).length && !Object.keys(c?.resources?.limits ?? {}).length,
  );

function podInScopes(p: Pod, quota: Quota): boolean {
  const scopes: ScopeRequirement[] = [
    ...(quota.spec?.scopes ?? []).map((s) => ({ scopeName: s, operator: 'Exists' })),
    ...(quota.spec?.scopeSelector?.matchExpressions ?? []),
  ];
  for (const s of scopes) {
    const terminating = typeof p.spec?.activeDeadlineSeconds === 'number';
    switch (s.scopeName) {
      case 'Terminating':
        if (!terminating) return false;
        break;
      case 'NotTerminating':
        if (terminating) return false;
        break;
      case 'BestEffort':
        if (!isBestEffort(p)) return false;
        break;
      case 'NotBestEffort':
        if (isBestEffort(p)) return false;
        break;
      case 'PriorityClass': {
        const pc = p.spec?.priorityClassName as string | undefined;
        const vals = s.values ?? [];
        const ok =
          s.operator === 'In'
            ? pc !== undefined && vals.includes(pc)
            : s.operator === 'NotIn'
              ? pc === undefined || !vals.includes(pc)
              : s.operator === 'Exists'
                ? Boolean(pc)
                : s.operator === 'DoesNotExist'
                  ? !pc
                  : false;
        if (!ok) return false;
        break;
      }
      default:
        return false; // a scope this controller does not know matches nothing
    }
  }
  return true;
}

const POD_RESOURCES: Record<string, ['requests' | 'limits', string]> = {
  cpu: ['requests', 'cpu'],
  memory: ['requests', 'memory'],
  'ephemeral-storage': ['requests', 'ephemeral-storage'],
  'requests.cpu': ['requests', 'cpu'],
  'requests.memory': ['requests', 'memory'],
  'requests.ephemeral-storage': ['requests', 'ephemeral-storage'],
  'limits.cpu': ['limits', 'cpu'],
  'limits.memory': ['limits', 'memory'],
  'limits.ephemeral-storage': ['limits', 'ephemeral-storage'],
};

export interface ResourceQuotaOptions {
  /** Full recount period (upstream --resource-quota-sync-period, 5 min). */
  resyncMs?: number;
}

export function startResourceQuotaController(ctx: ControllerContext, opts: ResourceQuotaOptions = {}): Controller {
  const log = ctx.log.child({ controller: 'resourcequota' });
  const quotaInf = ctx.informers.for<Quota>(R.resourcequotas);
  const podInf = ctx.informers.for<Pod>(R.pods);
  const svcInf = ctx.informers.for<Service>(R.services);
  const pvcInf = ctx.informers.for<Claim>(R.pvcs);
  const cmInf = ctx.informers.for(R.configmaps);
  const loop = new Loop({ ...ctx, log }, { name: 'resourcequota', sync });
  let resources: DiscoveredResource[] | undefined;
  let timer: NodeJS.Timeout | undefined;

  const byNamespace = (o: KubeObject) => {
    for (const quota of quotaInf.list(o.metadata.namespace ?? ''))
      loop.add(`${quota.metadata.namespace}/${quota.metadata.name}`);
  };
  const onChange = { add: byNamespace, update: (_o: KubeObject, x: KubeObject) => byNamespace(x), delete: byNamespace };
  quotaInf.addHandlers({
    add: (x) => loop.add(`${x.metadata.namespace}/${x.metadata.name}`),
    update: (_o, x) => loop.add(`${x.metadata.namespace}/${x.metadata.name}`),
  });
  for (const inf of [podInf, svcInf, pvcInf, cmInf]) inf.addHandlers(onChange);

  /** Objects of a kind without an informer here, counted through the API. */
  async function countOf(ns: string, spec: string): Promise<number> {
    const [resource, ...g] = spec.split('.');
    const group = g.join('.');
    resources ??= await discoverResources(ctx.client);
    const r = resources.find((x) => x.resource === resource && x.group === group && x.namespaced);
    if (!r) return 0;
    let n = 0;
    let cont: string | undefined;
    do {
      const page = await ctx.client.request<{ items: unknown[]; metadata: { continue?: string } }>(
        'GET',
        resourcePath(r, ns),
        { query: { limit: 500, continue: cont } },
      );
      n += page.items.length;
      cont = page.metadata.continue || undefined;
    } while (cont);
    return n;
  }

  async function usage(ns: string, quota: Quota, key: string): Promise<Quantity | undefined> {
    const pods = () => podInf.list(ns).filter((p) => !isTerminal(p) && podInScopes(p, quota));
    const num = (n: number): Quantity => ({ mantissa: BigInt(n), exponent: 0, format: 'DecimalSI' });
    if (key === 'pods' || key === 'count/pods') return num(pods().length);
    if (POD_RESOURCES[key]) {
      const [kind, res] = POD_RESOURCES[key];
      return pods().reduce((acc, p) => add(acc, podResource(p, kind, res)), ZERO);
    }
    if (key === 'services' || key === 'count/services') return num(svcInf.list(ns).length);
    if (key === 'services.loadbalancers')
      return num(svcInf.list(ns).filter((s) => s.spec?.type === 'LoadBalancer').length);
    if (key === 'services.nodeports')
      return num(
        svcInf
          .list(ns)
          .filter((s) => s.spec?.type === 'NodePort' || s.spec?.type === 'LoadBalancer')
          .reduce((n, s) => n + (s.spec?.ports ?? []).filter((p) => p?.nodePort).length, 0),
      );
    if (key === 'configmaps' || key === 'count/configmaps') return num(cmInf.list(ns).length);
    if (key === 'persistentvolumeclaims' || key === 'count/persistentvolumeclaims') return num(pvcInf.list(ns).length);
    if (key === 'requests.storage')
      return pvcInf.list(ns).reduce((acc, c) => add(acc, q(c.spec?.resources?.requests?.storage)), ZERO);
    const m = /^(.+)\.storageclass\.storage\.k8s\.io\/(requests\.storage|persistentvolumeclaims)$/.exec(key);
    if (m) {
      const claims = pvcInf.list(ns).filter((c) => (c.spec?.storageClassName ?? '') === m[1]);
      return m[2] === 'persistentvolumeclaims'
        ? num(claims.length)
        : claims.reduce((acc, c) => add(acc, q(c.spec?.resources?.requests?.storage)), ZERO);
    }
    if (key === 'secrets') return num(await countOf(ns, 'secrets'));
    if (key === 'resourcequotas') return num(quotaInf.list(ns).length);
    if (key === 'replicationcontrollers') return num(await countOf(ns, 'replicationcontrollers'));
    if (key.startsWith('count/')) return num(await countOf(ns, key.slice(6)));
    return undefined; // not a resource this controller counts (upstream leaves it out of used)
  }

  async function sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const quota = quotaInf.get(ns, name);
    if (!quota || quota.metadata.deletionTimestamp) return;
    const hard = quota.spec?.hard ?? {};
    const used: Record<string, string> = {};
    for (const k of Object.keys(hard).sort()) {
      const u = await usage(ns, quota, k);
      if (u) used[k] = formatQuantity(u);
    }
    const cur = quota.status ?? {};
    if (
      JSON.stringify(cur.hard ?? {}) === JSON.stringify(hard) &&
      JSON.stringify(cur.used ?? {}) === JSON.stringify(used)
    )
      return;
    try {
      await putStatus(ctx.client, R.resourcequotas, quota, { hard, used });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  const all = () => {
    resources = undefined; // kinds come and go (CRDs)
    for (const quota of quotaInf.list()) loop.add(`${quota.metadata.namespace}/${quota.metadata.name}`);
  };
  return {
    name: 'resourcequota',
    run: () => {
      loop.run();
      timer = setInterval(all, opts.resyncMs ?? 5 * 60_000);
      timer.unref();
    },
    stop: () => {
      if (timer) clearInterval(timer);
      loop.stop();
    },
    resync: all,
  };
}
