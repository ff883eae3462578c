// PersistentVolume binder (upstream's persistentvolume controller, binding half): a pending claim
// is bound to the smallest Available volume that satisfies it (storage class, access modes,
// capacity, volume mode, selector). WaitForFirstConsumer claims wait until the scheduler names a
// node (volume.kubernetes.io/selected-node) and then take a volume whose node affinity allows it.
// Binding writes the volume's claimRef first, then the claim's volumeName, each with upstream's
// annotations; a volume whose claim is gone becomes Released (Retain) or is deleted (Delete); a
// claim whose volume is gone is Lost. No provisioner: claims of a class without a matching volume
// stay Pending with an event.
import { labelSelectorMatches, parseQuantity, compareQuantity } from '../../api/index.js';
import { resourcePath } from '../../client/index.js';
import { isConflict, isNotFound, putStatus } from '../shared/control.js';
import { Loop, type Controller, type ControllerContext } from '../shared/context.js';
import { splitKey } from '../shared/pods.js';
import { R } from '../shared/resources.js';
import { termMatches } from '../shared/scheduling.js';
import type { KubeObject, LabelSelector, Node, NodeSelectorTerm } from '../shared/types.js';

const BIND_COMPLETED = 'pv.kubernetes.io/bind-completed';
const BOUND_BY_CONTROLLER = 'pv.kubernetes.io/bound-by-controller';
const SELECTED_NODE = 'volume.kubernetes.io/selected-node';

interface Claim extends KubeObject {
  spec?: {
    storageClassName?: string;
    accessModes?: string[];
    resources?: { requests?: Record<string, string> };
    volumeName?: string;
    volumeMode?: string;
    selector?: LabelSelector;
  };
  status?: { phase?: string; accessModes?: string[]; capacity?: Record<string, string> };
}
interface Volume extends KubeObject {
  spec?: {
    storageClassName?: string;
    accessModes?: string[];
    capacity?: Record<string, string>;
    claimRef?: {
      kind?: string;
      namespace?: string;
      name?: string;
      uid?: string;
      apiVersion?: string;
      resourceVersion?: string;
    };
    persistentVolumeReclaimPolicy?: string;
    volumeMode?: string;
    nodeAffinity?: { required?: { nodeSelectorTerms?: NodeSelectorTerm[] } };
  };
  status?: { phase?: string; message?: string; reason?: string };
}
interface StorageClass extends KubeObject {
  volumeBindingMode?: string;
  provisioner?: string;
}

const size = (v: string | undefined) => {
  try {
    return parseQuantity(v ?? '0');
  } catch {
    return parseQuantity('0');
  }
};

/** Whether `pv` can serve `pvc` (ignoring who holds it). */
export function volumeFits(pvc: Claim, pv: Volume, node?: Node): boolean {
  if ((pv.spec?.storageClassName ?? '') !== (pvc.spec?.storageClassName ?? '')) return false;
  if ((pv.spec?.volumeMode ?? 'Filesystem') !== (pvc.spec?.volumeMode ?? 'Filesystem')) return false;
  const modes = pv.spec?.accessModes ?? [];
  if (!(pvc.spec?.accessModes ?? []).every((m) => modes.includes(m))) return false;
  if (compareQuantity(size(pv.spec?.capacity?.storage), size(pvc.spec?.resources?.requests?.storage)) < 0) return false;
  if (pvc.spec?.selector) {
    try {
      if (!labelSelectorMatches(pvc.spec.selector, pv.metadata.labels)) return false;
    } catch {
      return false;
    }
  }
  if (node) {
    const terms = pv.spec?.nodeAffinity?.required?.nodeSelectorTerms;
    if (Array.isArray(terms) && terms.length && !terms.some((t) => t && termMatches(t, node))) return false;
  }
  return true;
}

export function startVolumeBindingController(ctx: ControllerContext): Controller {
  const log = ctx.log.child({ controller: 'persistentvolume-binder' });
  const pvcInf = ctx.informers.for<Claim>(R.pvcs);
  const pvInf = ctx.informers.for<Volume>(R.pvs);
  const scInf = ctx.informers.for<StorageClass>(R.storageclasses);
  const nodeInf = ctx.informers.for<Node>(R.nodes);
  const events = ctx.events.for('persistentvolume-controller');
  const claims = new Loop({ ...ctx, log }, { name: 'pvc-binder', sync: syncClaim });
  const volumes = new Loop({ ...ctx, log }, { name: 'pv-binder', sync: syncVolume });
  const claimKey = (c: Claim) => `${c.metadata.namespace}/${c.metadata.name}`;
  const pendingClaims = () => {
    for (const c of pvcInf.list()) if (c.status?.phase !== 'Bound') claims.add(claimKey(c));
  };

  pvcInf.addHandlers({
    add: (c) => claims.add(claimKey(c)),
    update: (_o, c) => claims.add(claimKey(c)),
    delete: (c) => {
      if (c.spec?.volumeName) volumes.add(c.spec.volumeName);
    },
  });
  pvInf.addHandlers({
    add: (v) => {
      volumes.add(v.metadata.name ?? '');
      pendingClaims();
    },
    update: (_o, v) => {
      volumes.add(v.metadata.name ?? '');
      const ref = v.spec?.claimRef;
      if (ref?.namespace && ref.name) claims.add(`${ref.namespace}/${ref.name}`);
      else pendingClaims();
    },
    delete: (v) => {
      const ref = v.spec?.claimRef;
      if (ref?.namespace && ref.name) claims.add(`${ref.namespace}/${ref.name}`);
    },
  });
  scInf.addHandlers({ add: pendingClaims });

  const classOf = (c: Claim) => scInf.get(undefined, c.spec?.storageClassName ?? '');

  async function setClaimStatus(c: Claim, status: Claim['status']): Promise<void> {
    if (JSON.stringify(c.status ?? {}) === JSON.stringify(status)) return;
    await putStatus(ctx.client, R.pvcs, c, status);
  }

  async function syncClaim(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const c = pvcInf.get(ns, name);
    if (!c || c.metadata.deletionTimestamp) return;
    const volName = c.spec?.volumeName;
    if (volName) {
      const pv = pvInf.get(undefined, volName);
      if (!pv) {
        if (c.status?.phase === 'Bound') {
          events.event(
            c,
            'Warning',
            'ClaimLost',
            'Bound claim has lost its PersistentVolume. Data on the volume is lost!',
          );
          await setClaimStatus(c, { ...(c.status ?? {}), phase: 'Lost' });
        }
        return;
      }
      const ref = pv.spec?.claimRef;
      if (!ref) {
        // The claim names a volume nobody has given it yet (pre-bound by the user): claim the volume.
        if (!volumeFits({ ...c, spec: { ...c.spec, storageClassName: pv.spec?.storageClassName } }, pv)) return;
        await bindVolume(pv, c);
        return;
      }
      if (!preBoundTo(pv, c)) return; // the volume belongs to another claim
      if (!ref.uid) await bindVolume(pv, c);
      else await finishClaim(c, pv);
      return;
    }
    // Not bound yet.
    const sc = classOf(c);
    let node: Node | undefined;
    if (sc?.volumeBindingMode === 'WaitForFirstConsumer') {
      const selected = c.metadata.annotations?.[SELECTED_NODE];
      if (!selected) {
        events.event(c, 'Normal', 'WaitForFirstConsumer', 'waiting for first consumer to be created before binding');
        return;
      }
      node = nodeInf.get(undefined, selected);
      if (!node) return;
    }
    // A volume already claimed for this claim (the first write of an earlier bind, or pre-bound by
    // the user with a claimRef naming it: upstream's IsVolumeBoundToClaim, which for a pre-bound
    // volume checks only size and volume mode), else the smallest fit.
    const pvs = pvInf.list();
    let pv = pvs.find((v) => v.spec?.claimRef?.uid === c.metadata.uid);
    pv ??= pvs.find(
      (v) =>
        !v.metadata.deletionTimestamp &&
        preBoundTo(v, c) &&
        volumeFits({ ...c, spec: { ...c.spec, storageClassName: v.spec?.storageClassName } }, v, node),
    );
    if (!pv) {
      const candidates = pvs
        .filter(
          (v) => !v.spec?.claimRef && (v.status?.phase ?? 'Available') !== 'Released' && !v.metadata.deletionTimestamp,
        )
        .filter((v) => volumeFits(c, v, node))
        .sort((a, b) => compareQuantity(size(a.spec?.capacity?.storage), size(b.spec?.capacity?.storage)));
      pv = candidates[0];
    }
    if (!pv) {
      if (c.status?.phase !== 'Pending') await setClaimStatus(c, { phase: 'Pending' });
      const className = c.spec?.storageClassName;
      if (className && !sc)
        // Upstream's provisionClaim: the class to provision from does not exist.
        events.event(c, 'Warning', 'ProvisioningFailed', `storageclass.storage.k8s.io "${className}" not found`);
      else if (sc?.provisioner)
        events.event(
          c,
          'Normal',
          'ExternalProvisioning',
          `Waiting for a volume to be created either by the external provisioner '${sc.provisioner}' or manually by the system administrator. If volume creation is delayed, please verify that the provisioner is running and correctly registered.`,
        );
      else
        events.event(
          c,
          'Normal',
          'FailedBinding',
          'no persistent volumes available for this claim and no storage class is set',
        );
      return;
    }
    if (!pv.spec?.claimRef?.uid) {
      await bindVolume(pv, c);
      return; // the volume update brings the claim back here
    }
    await finishClaim(c, pv);
  }

  /** Step 1: the volume names the claim (a full reference, uid included). A volume the user
   *  pre-bound to this claim does not get bound-by-controller, as upstream's getBindVolumeToClaim. */
  async function bindVolume(pv: Volume, c: Claim): Promise<void> {
    const annotations = { ...(pv.metadata.annotations ?? {}) };
    if (!preBoundTo(pv, c)) annotations[BOUND_BY_CONTROLLER] = 'yes';
    try {
      await ctx.client.request('PUT', resourcePath(R.pvs, undefined, pv.metadata.name), {
        body: {
          ...pv,
          metadata: { ...pv.metadata, annotations },
          spec: {
            ...pv.spec,
            claimRef: {
              kind: 'PersistentVolumeClaim',
              namespace: c.metadata.namespace,
              name: c.metadata.name,
              uid: c.metadata.uid,
              apiVersion: 'v1',
              resourceVersion: c.metadata.resourceVersion,
            },
          },
        },
      });
    } catch (e) {
      if (!isConflict(e) && !isNotFound(e)) throw e;
    }
  }

  /** Step 2: the claim names the volume; both are Bound. */
  async function finishClaim(c: Claim, pv: Volume): Promise<void> {
    if (pv.status?.phase !== 'Bound') await putStatus(ctx.client, R.pvs, pv, { phase: 'Bound' });
    let claim = c;
    if (c.spec?.volumeName !== pv.metadata.name || c.metadata.annotations?.[BIND_COMPLETED] !== 'yes') {
      const annotations: Record<string, string> = { ...(c.metadata.annotations ?? {}), [BIND_COMPLETED]: 'yes' };
      if (!c.spec?.volumeName) annotations[BOUND_BY_CONTROLLER] = 'yes';
      claim = await ctx.client.request<Claim>('PUT', resourcePath(R.pvcs, c.metadata.namespace, c.metadata.name), {
        body: { ...c, metadata: { ...c.metadata, annotations }, spec: { ...c.spec, volumeName: pv.metadata.name } },
      });
    }
    await setClaimStatus(claim, {
      ...(claim.status ?? {}),
      phase: 'Bound',
      accessModes: pv.spec?.accessModes,
      capacity: pv.spec?.capacity,
    });
  }

  async function syncVolume(name: string): Promise<void> {
    const pv = pvInf.get(undefined, name);
    if (!pv) return;
    // Being deleted: only a Bound volume whose claim is gone moves on to Released, so the
    // pv-protection finalizer (storage-protection) lets it go.
    if (pv.metadata.deletionTimestamp && pv.status?.phase !== 'Bound') return;
    const ref = pv.spec?.claimRef;
    // Unused, or reserved for a claim that has not been bound to it yet (a claimRef without uid):
    // Available either way, as upstream's syncVolume; the claim's sync does the binding.
    if (!ref?.uid) {
      if (pv.status?.phase !== 'Available') await putStatus(ctx.client, R.pvs, pv, { phase: 'Available' });
      return;
    }
    const c = pvcInf.get(ref.namespace, ref.name ?? '');
    if (c && c.metadata.uid === ref.uid) return; // the claim side finishes binding
    // The claim is gone: make sure (the cache may lag), then release or delete.
    try {
      const live = await ctx.client.request<Claim>('GET', resourcePath(R.pvcs, ref.namespace, ref.name));
      if (live.metadata.uid === ref.uid) return;
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    // As upstream: Released first (whatever the policy), then reclaimed; a Bound volume would be
    // held by its pv-protection finalizer for good.
    if (pv.status?.phase !== 'Released') {
      await putStatus(ctx.client, R.pvs, pv, { phase: 'Released' });
      return; // the status write brings the volume back here
    }
    if (pv.metadata.deletionTimestamp) return;
    const policy = pv.spec?.persistentVolumeReclaimPolicy ?? 'Retain';
    if (policy === 'Delete') {
      try {
        await ctx.client.request('DELETE', resourcePath(R.pvs, undefined, name), {
          body: { apiVersion: 'v1', kind: 'DeleteOptions', preconditions: { uid: pv.metadata.uid } },
        });
      } catch (e) {
        if (!isNotFound(e) && !isConflict(e)) throw e;
      }
      return;
    }
  }

  return {
    name: 'persistentvolume-binder',
    run: () => {
      claims.run();
      volumes.run();
    },
    stop: () => {
      claims.stop();
      volumes.stop();
    },
    resync: () => {
      pendingClaims();
      for (const v of pvInf.list()) volumes.add(v.metadata.name ?? '');
    },
  };
}

/** The volume's claimRef names this claim and no other uid (upstream's IsVolumeBoundToClaim). */
function preBoundTo(pv: Volume, c: Claim): boolean {
  const ref = pv.spec?.claimRef;
  return (
    !!ref &&
    ref.name === c.metadata.name &&
    ref.namespace === c.metadata.namespace &&
    (!ref.uid || ref.uid === c.metadata.uid)
  );
}
