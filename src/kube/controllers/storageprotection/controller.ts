// Storage object in-use protection (upstream's `pvc-protection` and `pv-protection`): every
// PersistentVolumeClaim carries the `kubernetes.io/pvc-protection` finalizer and every
// PersistentVolume `kubernetes.io/pv-protection`, so deleting one that is in use only marks it
// (Terminating); the finalizer goes once no pod that has not finished uses the claim, and once the
// volume is no longer Bound.
import { resourcePath } from '../../client/index.js';
import { isNotFound } from '../shared/control.js';
import { keyOf, Loop, type Controller, type ControllerContext } from '../shared/context.js';
import { splitKey } from '../shared/pods.js';
import { R } from '../shared/resources.js';
import type { KubeObject, Pod } from '../shared/types.js';

export const PVC_PROTECTION = 'kubernetes.io/pvc-protection';
export const PV_PROTECTION = 'kubernetes.io/pv-protection';

interface Claim extends KubeObject {
  spec?: { volumeName?: string };
}
interface Volume extends KubeObject {
  status?: { phase?: string };
}

const claimsOf = (p: Pod) =>
  ((p.spec as { volumes?: { persistentVolumeClaim?: { claimName?: string } }[] } | undefined)?.volumes ?? []).flatMap(
    (v) =>
      v?.persistentVolumeClaim?.claimName ? [`${p.metadata.namespace}/${v.persistentVolumeClaim.claimName}`] : [],
  );
const finished = (p: Pod) => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';

export function startStorageProtectionController(ctx: ControllerContext): Controller {
  const log = ctx.log.child({ controller: 'storage-protection' });
  const pvcInf = ctx.informers.for<Claim>(R.pvcs);
  const pvInf = ctx.informers.for<Volume>(R.pvs);
  const podInf = ctx.informers.for<Pod>(R.pods);
  podInf.addIndexer('claim', claimsOf);
  const claims = new Loop({ ...ctx, log }, { name: 'pvc-protection', sync: syncClaim });
  const volumes = new Loop({ ...ctx, log }, { name: 'pv-protection', sync: syncVolume });

  pvcInf.addHandlers({ add: (c) => claims.add(keyOf(c)), update: (_o, c) => claims.add(keyOf(c)) });
  pvInf.addHandlers({
    add: (v) => volumes.add(v.metadata.name ?? ''),
    update: (_o, v) => volumes.add(v.metadata.name ?? ''),
  });
  // A pod that stops using a claim (deleted or finished) may free a claim being deleted.
  const podChanged = (p: Pod) => {
    for (const k of claimsOf(p)) claims.add(k);
  };
  podInf.addHandlers({ update: (_o, p) => podChanged(p), delete: podChanged });

  /** Adds or removes one finalizer with the object's resourceVersion (a conflict is retried). */
  async function setFinalizer(ref: typeof R.pvcs, o: KubeObject, finalizer: string, present: boolean): Promise<void> {
    const have = o.metadata.finalizers ?? [];
    const finalizers = present ? [...have, finalizer] : have.filter((f) => f !== finalizer);
    try {
      await ctx.client.request('PATCH', resourcePath(ref, o.metadata.namespace, o.metadata.name), {
        body: { metadata: { resourceVersion: o.metadata.resourceVersion, finalizers } },
        contentType: 'application/merge-patch+json',
      });
    } catch (e) {
      if (!isNotFound(e)) throw e; // a conflict is retried from the fresh cache
    }
  }

  async function syncClaim(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const c = pvcInf.get(ns, name);
    if (!c) return;
    const has = (c.metadata.finalizers ?? []).includes(PVC_PROTECTION);
    if (!c.metadata.deletionTimestamp) {
      if (!has) await setFinalizer(R.pvcs, c, PVC_PROTECTION, true);
      return;
    }
    if (!has) return;
    // In use: a pod of its namespace names it and has not finished (upstream's podUsesPVC).
    if (podInf.byIndex('claim', key).some((p) => !finished(p))) return;
    // The cache may lag behind a pod just created: a live list, as upstream's askAPIServer.
    const live = await ctx.client.request<{ items: Pod[] }>('GET', resourcePath(R.pods, ns));
    if (live.items.some((p) => claimsOf(p).includes(key) && !finished(p))) return;
    await setFinalizer(R.pvcs, c, PVC_PROTECTION, false);
  }

  async function syncVolume(name: string): Promise<void> {
    const v = pvInf.get(undefined, name);
    if (!v) return;
    const has = (v.metadata.finalizers ?? []).includes(PV_PROTECTION);
    if (!v.metadata.deletionTimestamp) {
      if (!has) await setFinalizer(R.pvs, v, PV_PROTECTION, true);
      return;
    }
    if (has && v.status?.phase !== 'Bound') await setFinalizer(R.pvs, v, PV_PROTECTION, false);
  }

  return {
    name: 'storage-protection',
    run: () => {
      claims.run();
      volumes.run();
    },
    stop: () => {
      claims.stop();
      volumes.stop();
    },
    resync: () => {
      for (const c of pvcInf.list()) claims.add(keyOf(c));
      for (const v of pvInf.list()) volumes.add(v.metadata.name ?? '');
    },
  };
}
