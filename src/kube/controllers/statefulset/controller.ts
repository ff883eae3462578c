// StatefulSet controller (upstream's pkg/controller/statefulset): pods <set>-0..N-1 with stable
// names, hostnames and one PVC per volumeClaimTemplate. OrderedReady creates in ordinal order,
// each after the previous is Running and Ready, and removes from the highest ordinal down, one at
// a time; Parallel does both at once. RollingUpdate replaces pods not at the update revision from
// the highest ordinal down to the partition, one at a time, each after the last is healthy;
// OnDelete leaves that to the user. The PVC retention policy sets owner references on claims so
// the garbage collector removes them when the set is deleted or scaled down.
import { fromLabelSelector } from '../../api/index.js';
import { resourcePath } from '../../client/index.js';
import {
  claimChildren,
  errorText,
  isAlreadyExists,
  isNotFound,
  ownerRefFor,
  PodControl,
  putStatus,
  recheckOwner,
} from '../shared/control.js';
import { keyOf, Loop, type Controller, type ControllerContext } from '../shared/context.js';
import {
  currentRevision,
  HashCollision,
  HISTORY_HASH_LABEL,
  REVISION_HASH_LABEL,
  truncateHistory,
  type ControllerRevision,
} from '../shared/history.js';
import {
  controllerRef,
  isPodAvailable,
  isPodReady,
  isTerminal,
  omitEmpty,
  splitKey,
  untilAvailable,
} from '../shared/pods.js';
import { R } from '../shared/resources.js';
import type { Pod, PodTemplateSpec } from '../shared/types.js';
import {
  claimName,
  claimOwners,
  newClaim,
  newPod,
  ordinalOf,
  podName,
  type PersistentVolumeClaim,
  type StatefulSet,
  type StatefulSetStatus,
} from './pods.js';

const templateOf = (r: ControllerRevision | undefined): PodTemplateSpec | undefined => {
  const t = (r?.data as { spec?: { template?: PodTemplateSpec & { $patch?: string } } } | undefined)?.spec?.template;
  if (!t) return undefined;
  const { $patch: _p, ...rest } = t;
  return rest;
};

export function startStatefulSetController(ctx: ControllerContext): Controller {
  const log = ctx.log.child({ controller: 'statefulset' });
  const setInf = ctx.informers.for<StatefulSet>(R.statefulsets);
  const podInf = ctx.informers.for<Pod>(R.pods);
  const pvcInf = ctx.informers.for<PersistentVolumeClaim>(R.pvcs);
  const revInf = ctx.informers.for<ControllerRevision>(R.controllerrevisions);
  const events = ctx.events.for('statefulset-controller');
  // Upstream's StatefulPodControl records its own events ("delete Pod web-2 in StatefulSet web
  // successful"), not the ReplicaSet's "Deleted pod: …": the shared PodControl stays silent here.
  const pods = new PodControl(ctx.client, { event: () => undefined });
  const loop = new Loop({ ...ctx, log }, { name: 'statefulset', workers: 2, sync });

  const ownerOf = (o: { metadata: Pod['metadata'] }): StatefulSet | undefined => {
    const ref = controllerRef(o);
    if (!ref || ref.kind !== 'StatefulSet') return undefined;
    const s = setInf.get(o.metadata.namespace, ref.name);
    return s && s.metadata.uid === ref.uid ? s : undefined;
  };
  const enqueueOwner = (o: { metadata: Pod['metadata'] }) => {
    const s = ownerOf(o);
    if (s) loop.add(keyOf(s));
  };
  setInf.addHandlers({ add: (s) => loop.add(keyOf(s)), update: (_o, s) => loop.add(keyOf(s)) });
  podInf.addHandlers({
    add: enqueueOwner,
    update: (old, p) => {
      if (old.metadata.resourceVersion === p.metadata.resourceVersion) return;
      enqueueOwner(p);
      const s = ownerOf(p);
      const mrs = Number(s?.spec?.minReadySeconds) || 0;
      if (s && mrs && !isPodReady(old) && isPodReady(p)) loop.queue.addAfter(keyOf(s), mrs * 1000 + 50);
    },
    delete: enqueueOwner,
  });
  revInf.addHandlers({ add: enqueueOwner });

  const healthy = (p: Pod, mrs: number, now: number) =>
    p.status?.phase === 'Running' && isPodAvailable(p, mrs, now) && !p.metadata.deletionTimestamp;

  async function sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const cached = setInf.get(ns, name);
    if (!cached || cached.metadata.deletionTimestamp) return;
    const set = structuredClone(cached);
    const sel = set.spec?.selector;
    if (!sel || Object.keys(sel.matchLabels ?? {}).length + (sel.matchExpressions ?? []).length === 0) {
      events.event(
        set,
        'Warning',
        'SelectingAll',
        'This statefulset is selecting all pods. A non-empty selector is required.',
      );
      return;
    }
    try {
      fromLabelSelector(sel);
    } catch {
      return;
    }
    const owned = revInf.list(ns).filter((r) => controllerRef(r)?.uid === set.metadata.uid);
    let got;
    try {
      got = await currentRevision({
        client: ctx.client,
        owner: set,
        ownerApiVersion: 'apps/v1',
        ownerKind: 'StatefulSet',
        revisions: owned,
        template: set.spec?.template,
        collisionCount: set.status?.collisionCount,
        labels: set.spec?.template?.metadata?.labels,
        annotations: set.metadata.annotations,
        hash: 'json',
        hashLabel: HISTORY_HASH_LABEL,
      });
    } catch (e) {
      if (!(e instanceof HashCollision)) throw e;
      await putStatus(ctx.client, R.statefulsets, set, {
        ...(set.status ?? {}),
        collisionCount: (set.status?.collisionCount ?? 0) + 1,
      });
      return;
    }
    const { current: updateRev, all: revisions } = got;
    const currentRev = revisions.find((r) => r.metadata.name === set.status?.currentRevision) ?? updateRev;
    const claimed = (
      await claimChildren(
        {
          client: ctx.client,
          ref: R.pods,
          owner: set,
          ownerRef: ownerRefFor(set, 'apps/v1', 'StatefulSet'),
          selector: sel,
          canAdopt: recheckOwner(ctx.client, R.statefulsets, set),
        },
        podInf.list(ns),
      )
    ).filter((p) => ordinalOf(set, p) >= 0);
    let error: unknown;
    try {
      await reconcile(set, claimed, currentRev, updateRev);
    } catch (e) {
      error = e;
    }
    const live = new Set(
      podInf
        .list(ns)
        .filter((p) => controllerRef(p)?.uid === set.metadata.uid)
        .map((p) => p.metadata.labels?.[REVISION_HASH_LABEL] ?? ''),
    );
    live.add(currentRev.metadata.name ?? '');
    await truncateHistory(ctx.client, revisions, updateRev, live, set.spec?.revisionHistoryLimit ?? 10);
    await writeStatus(set, currentRev, updateRev);
    if (error) throw error;
  }

  async function ensureClaims(set: StatefulSet, ord: number, pod?: Pod): Promise<boolean> {
    let ready = true;
    for (const t of set.spec?.volumeClaimTemplates ?? []) {
      const name = claimName(set, t.metadata.name ?? '', ord);
      const have = pvcInf.get(set.metadata.namespace, name);
      if (have?.metadata.deletionTimestamp) {
        ready = false; // wait for the old claim to go
        continue;
      }
      if (!have) {
        try {
          const claim = newClaim(set, t, ord, pod);
          await ctx.client.request('POST', resourcePath(R.pvcs, set.metadata.namespace), { body: claim });
          events.event(
            set,
            'Normal',
            'SuccessfulCreate',
            `create Claim ${claim.metadata.name} Pod ${podName(set, ord)} in StatefulSet ${set.metadata.name} success`,
          );
        } catch (e) {
          if (!isAlreadyExists(e)) {
            events.event(
              set,
              'Warning',
              'FailedCreate',
              `create Claim ${name} for Pod ${set.metadata.name}-${ord} in StatefulSet ${set.metadata.name} failed error: ${errorText(e)}`,
            );
            throw e;
          }
        }
        continue;
      }
      const want = claimOwners(set, have, ord, pod);
      if (JSON.stringify(want) !== JSON.stringify(have.metadata.ownerReferences ?? [])) {
        await ctx.client
          .request('PATCH', resourcePath(R.pvcs, have.metadata.namespace, have.metadata.name), {
            body: {
              metadata: { resourceVersion: have.metadata.resourceVersion, ownerReferences: want.length ? want : null },
            },
            contentType: 'application/merge-patch+json',
          })
          .catch((e) => {
            if (!isNotFound(e)) throw e;
          });
      }
    }
    return ready;
  }

  async function createPod(set: StatefulSet, ord: number, rev: ControllerRevision): Promise<void> {
    if (!(await ensureClaims(set, ord))) return;
    const pod = newPod(set, templateOf(rev), rev.metadata.name ?? '', ord);
    try {
      await ctx.client.request('POST', resourcePath(R.pods, set.metadata.namespace), { body: pod });
      events.event(
        set,
        'Normal',
        'SuccessfulCreate',
        `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} successful`,
      );
    } catch (e) {
      if (isAlreadyExists(e)) return; // the cache had not seen it yet
      events.event(
        set,
        'Warning',
        'FailedCreate',
        `create Pod ${pod.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${errorText(e)}`,
      );
      throw e;
    }
  }

  async function deletePod(set: StatefulSet, p: Pod): Promise<void> {
    let deleted: boolean;
    try {
      deleted = await pods.delete(set, p);
    } catch (e) {
      events.event(
        set,
        'Warning',
        'FailedDelete',
        `delete Pod ${p.metadata.name} in StatefulSet ${set.metadata.name} failed error: ${errorText(e)}`,
      );
      throw e;
    }
    if (deleted)
      events.event(
        set,
        'Normal',
        'SuccessfulDelete',
        `delete Pod ${p.metadata.name} in StatefulSet ${set.metadata.name} successful`,
      );
  }

  async function reconcile(
    set: StatefulSet,
    claimed: Pod[],
    currentRev: ControllerRevision,
    updateRev: ControllerRevision,
  ) {
    const spec = set.spec ?? {};
    const replicas = typeof spec.replicas === 'number' && spec.replicas >= 0 ? spec.replicas : 1;
    const start = spec.ordinals?.start ?? 0;
    const monotonic = spec.podManagementPolicy !== 'Parallel';
    const mrs = Number(spec.minReadySeconds) || 0;
    const now = ctx.now();
    const rolling = (spec.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    const partition = rolling ? (spec.updateStrategy?.rollingUpdate?.partition ?? 0) : 0;
    const byOrd = new Map<number, Pod>();
    const condemned: Pod[] = [];
    for (const p of claimed) {
      const o = ordinalOf(set, p);
      if (o >= start && o < start + replicas) byOrd.set(o, p);
      else condemned.push(p);
    }
    condemned.sort((a, b) => ordinalOf(set, b) - ordinalOf(set, a));
    const revFor = (ord: number) => (rolling && ord < start + partition ? currentRev : updateRev);
    let firstUnhealthy: Pod | undefined;
    for (let ord = start; ord < start + replicas; ord++) {
      const p = byOrd.get(ord);
      if (p && isTerminal(p) && !p.metadata.deletionTimestamp) {
        // A failed (or finished) pod is replaced under the same name.
        events.event(
          set,
          'Warning',
          'RecreatingFailedPod',
          `StatefulSet ${set.metadata.namespace}/${set.metadata.name} is recreating failed Pod ${p.metadata.name}`,
        );
        await deletePod(set, p);
        if (monotonic) return;
        continue;
      }
      if (!p) {
        await createPod(set, ord, revFor(ord));
        if (monotonic) return;
        continue;
      }
      if (p.metadata.deletionTimestamp) {
        if (monotonic) return;
        continue;
      }
      if (!healthy(p, mrs, now)) {
        firstUnhealthy ??= p;
        const w = untilAvailable(p, mrs, now);
        if (w !== undefined) loop.queue.addAfter(keyOf(set), w + 50);
        if (monotonic) return;
        continue;
      }
      await ensureClaims(set, ord, p);
    }
    for (const p of condemned) {
      if (p.metadata.deletionTimestamp) {
        if (monotonic) return;
        continue;
      }
      if (monotonic && firstUnhealthy && firstUnhealthy !== p) return;
      await ensureClaims(set, ordinalOf(set, p), p);
      await deletePod(set, p);
      if (monotonic) return;
    }
    if (!rolling) return;
    for (let ord = start + replicas - 1; ord >= start + partition; ord--) {
      const p = byOrd.get(ord);
      if (!p) return;
      if (p.metadata.labels?.[REVISION_HASH_LABEL] !== updateRev.metadata.name && !p.metadata.deletionTimestamp) {
        await deletePod(set, p);
        return;
      }
      if (!healthy(p, mrs, now)) return;
    }
  }

  async function writeStatus(
    set: StatefulSet,
    currentRev: ControllerRevision,
    updateRev: ControllerRevision,
  ): Promise<void> {
    const mrs = Number(set.spec?.minReadySeconds) || 0;
    const now = ctx.now();
    const mine = podInf
      .list(set.metadata.namespace ?? '')
      .filter((p) => controllerRef(p)?.uid === set.metadata.uid && ordinalOf(set, p) >= 0);
    const live = mine.filter((p) => !p.metadata.deletionTimestamp);
    const st: StatefulSetStatus = {
      ...(set.status ?? {}),
      // Upstream always writes it (a pointer, 0 included).
      collisionCount: set.status?.collisionCount ?? 0,
      observedGeneration: set.metadata.generation,
      replicas: live.length,
      readyReplicas: live.filter((p) => p.status?.phase === 'Running' && isPodReady(p)).length,
      availableReplicas: live.filter((p) => p.status?.phase === 'Running' && isPodAvailable(p, mrs, now)).length,
      currentReplicas: live.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === currentRev.metadata.name).length,
      updatedReplicas: live.filter((p) => p.metadata.labels?.[REVISION_HASH_LABEL] === updateRev.metadata.name).length,
      currentRevision: currentRev.metadata.name,
      updateRevision: updateRev.metadata.name,
    };
    const rolling = (set.spec?.updateStrategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
    if (rolling && st.updatedReplicas === st.replicas && st.readyReplicas === st.replicas) {
      st.currentRevision = st.updateRevision;
      st.currentReplicas = st.updatedReplicas;
    }
    const norm = (s: StatefulSetStatus | undefined) =>
      JSON.stringify([
        s?.observedGeneration,
        s?.replicas ?? 0,
        s?.readyReplicas ?? 0,
        s?.availableReplicas ?? 0,
        s?.currentReplicas ?? 0,
        s?.updatedReplicas ?? 0,
        s?.currentRevision,
        s?.updateRevision,
      ]);
    if (norm(set.status) === norm(st)) return;
    // readyReplicas, currentReplicas, updatedReplicas are `omitempty` upstream; replicas and
    // availableReplicas are not.
    await putStatus(
      ctx.client,
      R.statefulsets,
      set,
      omitEmpty(st, ['readyReplicas', 'currentReplicas', 'updatedReplicas']),
    );
  }

  return {
    name: 'statefulset',
    run: () => loop.run(),
    stop: () => loop.stop(),
    resync: () => {
      for (const s of setInf.list()) loop.add(keyOf(s));
    },
  };
}
