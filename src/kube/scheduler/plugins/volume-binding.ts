// VolumeBinding for PersistentVolumeClaims: a bound claim's PV must accept the node (its node
// affinity); an unbound WaitForFirstConsumer claim needs an Available PV of its class that fits
// (size, access modes, volume mode, selector, node affinity) or a class that provisions. Unbound
// Immediate claims keep the pod waiting. Reserve assumes the chosen PVs; PreBind writes the
// binding (the PV's claimRef, then the claim's volumeName and both phases, which upstream leaves to
// the PV controller; done here so local PVs bind without one) or asks for provisioning on the
// node (the selected-node annotation) and waits for the claim to be bound.
import { selectorMatches } from '../../api/index.js';
import {
  errorStatus,
  skip,
  unresolvable,
  type ApiClient,
  type CycleState,
  type Handle,
  type Plugin,
  type StateData,
  StateKey,
} from '../framework.js';
import { safeSelector, type NodeInfo, type PodInfo } from '../nodeinfo.js';
import { compileTerms } from '../node-selector.js';
import { quantity } from '../resources.js';
import type { Node, PersistentVolume, PersistentVolumeClaim, Pod } from '../types.js';
import { sleep, unavailable, conflict } from '../../../common/index.js';

export const ErrReasonBindConflict = "node(s) didn't find available persistent volumes to bind";
export const ErrReasonNodeConflict = 'node(s) had volume node affinity conflict';
export const ErrReasonPVNotExist = 'node(s) unavailable due to one or more pvc(s) bound to non-existent pv(s)';
const KEY = new StateKey<State>('VolumeBinding');
const BETA_CLASS = 'volume.beta.kubernetes.io/storage-class';
const NO_PROVISIONER = 'kubernetes.io/no-provisioner';
const BIND_TIMEOUT_MS = 600_000;

interface PodVolumes {
  staticBindings: { pvc: PersistentVolumeClaim; pv: PersistentVolume }[];
  provisions: PersistentVolumeClaim[];
}

class State implements StateData {
  byNode = new Map<string, PodVolumes>();
  allBound = false;
  constructor(
    readonly bound: PersistentVolumeClaim[],
    readonly toBind: PersistentVolumeClaim[],
  ) {}
  clone(): State {
    return this;
  }
}

const claimClass = (c: PersistentVolumeClaim) => c.metadata.annotations?.[BETA_CLASS] ?? c.spec.storageClassName ?? '';
const volumeClass = (v: PersistentVolume) => v.metadata.annotations?.[BETA_CLASS] ?? v.spec.storageClassName ?? '';
const storage = (list: Record<string, string | number> | undefined) => quantity(list?.storage).value;
const boundTo = (v: PersistentVolume, c: PersistentVolumeClaim) =>
  !!v.spec.claimRef &&
  v.spec.claimRef.name === c.metadata.name &&
  v.spec.claimRef.namespace === c.metadata.namespace &&
  (!v.spec.claimRef.uid || v.spec.claimRef.uid === c.metadata.uid);
const pvAcceptsNode = (v: PersistentVolume, node: Node) => {
  const req = v.spec.nodeAffinity?.required;
  return !req || compileTerms(req.nodeSelectorTerms)({ metadata: { labels: node.metadata.labels } });
};
const fullyBound = (c: PersistentVolumeClaim) =>
  !!c.spec.volumeName && c.metadata.annotations?.['pv.kubernetes.io/bind-completed'] !== undefined;

/** The claims a pod uses: PVC volumes and generic ephemeral volumes (`<pod>-<volume>`). */
export function podClaimNames(pod: Pod): { name: string; ephemeral: boolean }[] {
  const out: { name: string; ephemeral: boolean }[] = [];
  for (const v of pod.spec.volumes ?? []) {
    if (v.persistentVolumeClaim) out.push({ name: v.persistentVolumeClaim.claimName, ephemeral: false });
    else if (v.ephemeral) out.push({ name: `${pod.metadata.name}-${v.name}`, ephemeral: true });
  }
  return out;
}

export function volumeBinding(h: Handle): Plugin {
  /** PV name → claim key it was assumed for (Reserve, until the binding is written or undone). */
  const assumed = new Map<string, string>();

  const findVolume = (c: PersistentVolumeClaim, node: Node, chosen: Set<string>): PersistentVolume | undefined => {
    const want = storage(c.spec.resources?.requests);
    const mode = c.spec.volumeMode ?? 'Filesystem';
    const cls = claimClass(c);
    const sel = c.spec.selector ? safeSelector(c.spec.selector) : undefined;
    const key = `${c.metadata.namespace}/${c.metadata.name}`;
    let best: PersistentVolume | undefined;
    for (const v of h.listers.pvs()) {
      const name = v.metadata.name ?? '';
      if (chosen.has(name)) continue;
      const a = assumed.get(name);
      if (a && a !== key) continue;
      if (v.spec.claimRef && !boundTo(v, c)) continue;
      const size = storage(v.spec.capacity);
      if (size < want || (v.spec.volumeMode ?? 'Filesystem') !== mode || v.metadata.deletionTimestamp) continue;
      const nodeOk = pvAcceptsNode(v, node);
      if (boundTo(v, c)) return nodeOk ? v : undefined;
      if (v.status?.phase !== 'Available' || (sel && !selectorMatches(sel, v.metadata.labels))) continue;
      if (volumeClass(v) !== cls || !nodeOk) continue;
      const modes = new Set(v.spec.accessModes ?? []);
      if (!(c.spec.accessModes ?? []).every((m) => modes.has(m))) continue;
      if (!best || storage(best.spec.capacity) > size) best = v;
    }
    return best;
  };

  const canProvision = (c: PersistentVolumeClaim, node: Node): boolean => {
    const cls = h.listers.storageClass(claimClass(c));
    if (!cls || cls.provisioner === NO_PROVISIONER) return false;
    const topo = cls.allowedTopologies ?? [];
    if (!topo.length) return true;
    const labels = node.metadata.labels ?? {};
    return topo.some((t) => (t.matchLabelExpressions ?? []).every((e) => e.values.includes(labels[e.key])));
  };

  return {
    name: 'VolumeBinding',
    events: () => [
      { resource: 'PersistentVolumeClaim', actions: ['Add', 'Update'] },
      { resource: 'PersistentVolume', actions: ['Add', 'Update'] },
      { resource: 'StorageClass', actions: ['Add', 'Update'] },
      { resource: 'Node', actions: ['Add', 'UpdateNodeLabel', 'UpdateNodeTaint'] },
      { resource: 'CSINode', actions: ['Add', 'Update'] },
    ],
    preFilter(state: CycleState, pi: PodInfo) {
      const names = podClaimNames(pi.pod);
      if (!names.length) return { status: skip() };
      const ns = pi.pod.metadata.namespace ?? '';
      const bound: PersistentVolumeClaim[] = [];
      const toBind: PersistentVolumeClaim[] = [];
      let immediate = false;
      for (const { name, ephemeral } of names) {
        const c = h.listers.pvc(ns, name);
        if (!c)
          return {
            status: unresolvable(
              ephemeral
                ? `waiting for ephemeral volume controller to create the persistentvolumeclaim "${name}"`
                : `persistentvolumeclaim "${name}" not found`,
            ),
          };
        if (c.status?.phase === 'Lost')
          return {
            status: unresolvable(
              `persistentvolumeclaim "${name}" bound to non-existent persistentvolume "${c.spec.volumeName ?? ''}"`,
            ),
          };
        if (c.metadata.deletionTimestamp)
          return { status: unresolvable(`persistentvolumeclaim "${name}" is being deleted`) };
        if (fullyBound(c)) bound.push(c);
        else if (
          !c.spec.volumeName &&
          h.listers.storageClass(claimClass(c))?.volumeBindingMode === 'WaitForFirstConsumer'
        )
          toBind.push(c);
        else immediate = true;
      }
      if (immediate) return { status: unresolvable('pod has unbound immediate PersistentVolumeClaims') };
      // Larger requests pick first, so a small claim does not take the only large volume.
      toBind.sort((a, b) => storage(a.spec.resources?.requests) - storage(b.spec.resources?.requests));
      state.write(KEY, new State(bound, toBind));
      return undefined;
    },
    filter(state: CycleState, _pi: PodInfo, n: NodeInfo) {
      const s = state.read(KEY);
      if (!s) return undefined;
      let boundOk = true,
        pvsFound = true,
        unboundOk = true;
      for (const c of s.bound) {
        const pv = h.listers.pv(c.spec.volumeName ?? '');
        if (!pv) pvsFound = false;
        else if (!pvAcceptsNode(pv, n.node)) boundOk = false;
      }
      const vols: PodVolumes = { staticBindings: [], provisions: [] };
      const chosen = new Set<string>();
      for (const c of s.toBind) {
        const pv = findVolume(c, n.node, chosen);
        if (pv) {
          chosen.add(pv.metadata.name ?? '');
          vols.staticBindings.push({ pvc: c, pv });
        } else if (canProvision(c, n.node)) vols.provisions.push(c);
        else unboundOk = false;
      }
      const reasons: string[] = [];
      if (!boundOk) reasons.push(ErrReasonNodeConflict);
      if (!unboundOk) reasons.push(ErrReasonBindConflict);
      if (!pvsFound) reasons.push(ErrReasonPVNotExist);
      if (reasons.length) return unresolvable(...reasons);
      s.byNode.set(n.name, vols);
      return undefined;
    },
    reserve(state: CycleState, _pi: PodInfo, node: string) {
      const s = state.read(KEY);
      if (!s) return undefined;
      const v = s.byNode.get(node);
      s.allBound = !v || (!v.staticBindings.length && !v.provisions.length);
      for (const b of v?.staticBindings ?? [])
        assumed.set(b.pv.metadata.name ?? '', `${b.pvc.metadata.namespace}/${b.pvc.metadata.name}`);
      return undefined;
    },
    unreserve(state: CycleState, _pi: PodInfo, node: string) {
      for (const b of state.read(KEY)?.byNode.get(node)?.staticBindings ?? []) assumed.delete(b.pv.metadata.name ?? '');
    },
    async preBind(state: CycleState, _pi: PodInfo, node: string, signal?: AbortSignal) {
      const s = state.read(KEY);
      if (!s || s.allBound) return undefined;
      const v = s.byNode.get(node);
      if (!v) return errorStatus(`no pod volumes found for node "${node}"`);
      if (!h.client) return errorStatus('no API client to bind volumes');
      try {
        for (const b of v.staticBindings) await bindStatic(h.client, b.pv, b.pvc);
        for (const c of v.provisions) await selectNode(h.client, c, node);
        await waitBound(h, [...v.staticBindings.map((b) => b.pvc), ...v.provisions], signal);
        return undefined;
      } catch (e) {
        return errorStatus(e);
      } finally {
        for (const b of v.staticBindings) assumed.delete(b.pv.metadata.name ?? '');
      }
    },
  };
}

const pvPath = (name: string) => `/api/v1/persistentvolumes/${encodeURIComponent(name)}`;
const pvcPath = (ns: string, name: string) =>
  `/api/v1/namespaces/${encodeURIComponent(ns)}/persistentvolumeclaims/${encodeURIComponent(name)}`;

async function bindStatic(client: ApiClient, pv0: PersistentVolume, c0: PersistentVolumeClaim): Promise<void> {
  const pv = await client.request<PersistentVolume>('GET', pvPath(pv0.metadata.name ?? ''));
  const ns = c0.metadata.namespace ?? '',
    name = c0.metadata.name ?? '';
  if (!boundTo(pv, c0)) {
    if (pv.spec.claimRef) throw conflict(`persistentvolume "${pv.metadata.name}" was bound to another claim`);
    pv.spec.claimRef = { kind: 'PersistentVolumeClaim', apiVersion: 'v1', namespace: ns, name, uid: c0.metadata.uid };
    pv.metadata.annotations = { ...pv.metadata.annotations, 'pv.kubernetes.io/bound-by-controller': 'yes' };
    Object.assign(pv, await client.request<PersistentVolume>('PUT', pvPath(pv.metadata.name ?? ''), { body: pv }));
  }
  if (pv.status?.phase !== 'Bound')
    await client.request('PATCH', `${pvPath(pv.metadata.name ?? '')}/status`, {
      body: { status: { phase: 'Bound' } },
      contentType: 'application/merge-patch+json',
    });
  const c = await client.request<PersistentVolumeClaim>('GET', pvcPath(ns, name));
  if (!c.spec.volumeName) {
    c.spec.volumeName = pv.metadata.name;
    c.metadata.annotations = {
      ...c.metadata.annotations,
      'pv.kubernetes.io/bind-completed': 'yes',
      'pv.kubernetes.io/bound-by-controller': 'yes',
    };
    await client.request('PUT', pvcPath(ns, name), { body: c });
  }
  if (c.status?.phase !== 'Bound')
    await client.request('PATCH', `${pvcPath(ns, name)}/status`, {
      body: { status: { phase: 'Bound', accessModes: pv.spec.accessModes, capacity: pv.spec.capacity } },
      contentType: 'application/merge-patch+json',
    });
}

async function selectNode(client: ApiClient, c: PersistentVolumeClaim, node: string): Promise<void> {
  await client.request('PATCH', pvcPath(c.metadata.namespace ?? '', c.metadata.name ?? ''), {
    body: { metadata: { annotations: { 'volume.kubernetes.io/selected-node': node } } },
    contentType: 'application/merge-patch+json',
  });
}

/** Waits (on the informer's view) until every claim is bound, as upstream's checkBindings. */
async function waitBound(h: Handle, claims: PersistentVolumeClaim[], signal?: AbortSignal): Promise<void> {
  const deadline = Date.now() + BIND_TIMEOUT_MS;
  for (;;) {
    const pending = claims.filter((c) => {
      const cur = h.listers.pvc(c.metadata.namespace ?? '', c.metadata.name ?? '');
      return !cur || !fullyBound(cur);
    });
    if (!pending.length) return;
    if (signal?.aborted) throw unavailable('binding aborted');
    if (Date.now() > deadline)
      throw unavailable(
        `binding volumes: timed out waiting for the condition (claims: ${pending.map((c) => c.metadata.name).join(', ')})`,
      );
    await sleep(100);
  }
}
