// DaemonSet controller (upstream's pkg/controller/daemon): one pod per node that should run it
// (nodeName, nodeSelector, required node affinity, taints against the pod's tolerations plus the
// daemon tolerations upstream adds). Pods are created with a required node affinity on
// metadata.name for their node and left to the scheduler to bind, as upstream. RollingUpdate
// (maxUnavailable, or maxSurge) replaces pods whose controller-revision-hash is not the current
// ControllerRevision's; OnDelete waits for the user. Status per node as upstream counts it.
import { fromLabelSelector } from '../../api/index.js';
import {
  claimChildren,
  ownerRefFor,
  PodControl,
  podFromTemplate,
  putStatus,
  recheckOwner,
  slowStartBatch,
} from '../shared/control.js';
import { keyOf, Loop, type Controller, type ControllerContext } from '../shared/context.js';
import { UIDTrackingExpectations } from '../shared/expectations.js';
import {
  currentRevision,
  HashCollision,
  REVISION_HASH_LABEL,
  truncateHistory,
  type ControllerRevision,
} from '../shared/history.js';
import {
  controllerRef,
  isPodAvailable,
  omitEmpty,
  isPodReady,
  scaledValue,
  splitKey,
  untilAvailable,
} from '../shared/pods.js';
import { R } from '../shared/resources.js';
import { nodeMatches, targetNodeName, untoleratedTaint } from '../shared/scheduling.js';
import type { Node, Pod } from '../shared/types.js';
import {
  GENERATION_LABEL,
  podTemplateFor,
  shouldRunOn,
  templateGeneration,
  type DaemonSet,
  type DaemonSetStatus,
} from './daemon-pod.js';

/** DaemonSetStatus fields that are `omitempty` upstream. */
const DS_OMITEMPTY = ['observedGeneration', 'updatedNumberScheduled', 'numberAvailable', 'numberUnavailable'];

const created = (p: Pod) => Date.parse(p.metadata.creationTimestamp ?? '') || 0;

export function startDaemonSetController(ctx: ControllerContext): Controller {
  const log = ctx.log.child({ controller: 'daemonset' });
  const dsInf = ctx.informers.for<DaemonSet>(R.daemonsets);
  const podInf = ctx.informers.for<Pod>(R.pods);
  const nodeInf = ctx.informers.for<Node>(R.nodes);
  const revInf = ctx.informers.for<ControllerRevision>(R.controllerrevisions);
  const events = ctx.events.for('daemonset-controller');
  const pods = new PodControl(ctx.client, events);
  const exp = new UIDTrackingExpectations(ctx.now);
  const failedBackoff = new Map<string, { until: number; delay: number }>();
  const loop = new Loop({ ...ctx, log }, { name: 'daemonset', workers: 2, sync });

  const ownerOf = (p: { metadata: Pod['metadata'] }): DaemonSet | undefined => {
    const ref = controllerRef(p);
    if (!ref || ref.kind !== 'DaemonSet') return undefined;
    const ds = dsInf.get(p.metadata.namespace, ref.name);
    return ds && ds.metadata.uid === ref.uid ? ds : undefined;
  };
  const all = () => {
    for (const ds of dsInf.list()) loop.add(keyOf(ds));
  };
  dsInf.addHandlers({
    add: (d) => loop.add(keyOf(d)),
    update: (_o, d) => loop.add(keyOf(d)),
    delete: (d) => exp.delete(keyOf(d)),
  });
  podInf.addHandlers({
    add: (p) => {
      const ds = ownerOf(p);
      if (!ds) return;
      exp.creationObserved(keyOf(ds));
      loop.add(keyOf(ds));
    },
    update: (old, p) => {
      if (old.metadata.resourceVersion === p.metadata.resourceVersion) return;
      const ds = ownerOf(p);
      if (!ds) return;
      if (p.metadata.deletionTimestamp && !old.metadata.deletionTimestamp) exp.deletionObserved(keyOf(ds), keyOf(p));
      loop.add(keyOf(ds));
      const mrs = Number(ds.spec?.minReadySeconds) || 0;
      if (mrs && !isPodReady(old) && isPodReady(p)) loop.queue.addAfter(keyOf(ds), mrs * 1000 + 50);
    },
    delete: (p) => {
      const ds = ownerOf(p);
      if (!ds) return;
      exp.deletionObserved(keyOf(ds), keyOf(p));
      loop.add(keyOf(ds));
    },
  });
  nodeInf.addHandlers({
    add: all,
    update: (o, n) => {
      const changed =
        JSON.stringify(o.metadata.labels) !== JSON.stringify(n.metadata.labels) ||
        JSON.stringify(o.spec?.taints) !== JSON.stringify(n.spec?.taints);
      if (changed) all();
    },
    delete: all,
  });
  revInf.addHandlers({
    add: (r) => {
      const ds = ownerOf(r);
      if (ds) loop.add(keyOf(ds));
    },
  });

  const isSurge = (ds: DaemonSet) =>
    ds.spec?.updateStrategy?.type !== 'OnDelete' &&
    scaledValue(ds.spec?.updateStrategy?.rollingUpdate?.maxSurge ?? 0, 1, true) > 0;

  async function sync(key: string): Promise<void> {
    const [ns, name] = splitKey(key);
    const cached = dsInf.get(ns, name);
    if (!cached) {
      exp.delete(key);
      return;
    }
    const ds = structuredClone(cached);
    if (ds.metadata.deletionTimestamp) return;
    const sel = ds.spec?.selector;
    if (!sel || Object.keys(sel.matchLabels ?? {}).length + (sel.matchExpressions ?? []).length === 0) {
      events.event(
        ds,
        'Warning',
        'SelectingAll',
        'This daemon set is selecting all pods. A non-empty selector is required.',
      );
      return;
    }
    try {
      fromLabelSelector(sel);
    } catch {
      return;
    }
    const owned = revInf.list(ns).filter((r) => controllerRef(r)?.uid === ds.metadata.uid);
    let got;
    try {
      got = await currentRevision({
        client: ctx.client,
        owner: ds,
        ownerApiVersion: 'apps/v1',
        ownerKind: 'DaemonSet',
        revisions: owned,
        template: ds.spec?.template,
        collisionCount: ds.status?.collisionCount,
        labels: ds.spec?.template?.metadata?.labels,
        annotations: ds.metadata.annotations,
      });
    } catch (e) {
      if (!(e instanceof HashCollision)) throw e;
      await putStatus(ctx.client, R.daemonsets, ds, {
        ...(ds.status ?? {}),
        collisionCount: (ds.status?.collisionCount ?? 0) + 1,
      });
      return;
    }
    const { current, all: revisions } = got;
    const hash = current.metadata.labels?.[REVISION_HASH_LABEL] ?? '';
    const claimed = await claimChildren(
      {
        client: ctx.client,
        ref: R.pods,
        owner: ds,
        ownerRef: ownerRefFor(ds, 'apps/v1', 'DaemonSet'),
        selector: sel,
        canAdopt: recheckOwner(ctx.client, R.daemonsets, ds),
      },
      podInf.list(ns),
    );
    const nodes = nodeInf.list();
    const names = new Set(nodes.map((n) => n.metadata.name));
    /** Claimed pods by their node (from the cache now), and pods whose node is gone. */
    const podsByNode = () => {
      const byNode = new Map<string, Pod[]>();
      const orphaned: Pod[] = [];
      for (const p of podInf.list(ns)) {
        if (controllerRef(p)?.uid !== ds.metadata.uid) continue;
        const n = targetNodeName(p);
        if (n && names.has(n)) byNode.set(n, [...(byNode.get(n) ?? []), p]);
        else if (!p.metadata.deletionTimestamp) orphaned.push(p);
      }
      return { byNode, orphaned };
    };
    const first = podsByNode();
    // As upstream's syncDaemonSet, status is written even when managing failed (a refused
    // create): desiredNumberScheduled then still says how many nodes should run a pod.
    let failure: { error: unknown } | undefined;
    if (exp.satisfied(key)) {
      try {
        await manage(ds, nodes, first.byNode, first.orphaned, hash);
        // The rollout moves only once manage's own writes have been seen (then the cache has them).
        if (ds.spec?.updateStrategy?.type !== 'OnDelete' && exp.satisfied(key))
          await rollingUpdate(ds, nodes, podsByNode().byNode, hash);
        const live = new Set(claimed.map((p) => p.metadata.labels?.[REVISION_HASH_LABEL] ?? ''));
        await truncateHistory(ctx.client, revisions, current, live, ds.spec?.revisionHistoryLimit ?? 10);
      } catch (e) {
        failure = { error: e };
      }
    }
    await updateStatus(ds, nodes, podsByNode().byNode, hash);
    if (failure) throw failure.error;
  }

  function isUpdated(ds: DaemonSet, p: Pod, hash: string): boolean {
    const h = p.metadata.labels?.[REVISION_HASH_LABEL];
    if (h !== undefined) return h === hash;
    return p.metadata.labels?.[GENERATION_LABEL] === templateGeneration(ds);
  }

  async function manage(ds: DaemonSet, nodes: Node[], byNode: Map<string, Pod[]>, orphaned: Pod[], hash: string) {
    const toCreate: string[] = [];
    const toDelete: Pod[] = [...orphaned];
    const now = ctx.now();
    for (const node of nodes) {
      const name = node.metadata.name ?? '';
      const [run, cont] = shouldRunOn(ds, node);
      const here = (byNode.get(name) ?? []).filter((p) => !p.metadata.deletionTimestamp);
      if (run && here.length === 0) {
        if ((byNode.get(name) ?? []).length === 0) toCreate.push(name);
        continue;
      }
      if (!cont) {
        toDelete.push(...here);
        continue;
      }
      const failed = here.filter((p) => p.status?.phase === 'Failed');
      for (const p of failed) {
        const k = `${ds.metadata.uid}/${name}`;
        const b = failedBackoff.get(k);
        if (b && b.until > now) {
          loop.queue.addAfter(keyOf(ds), b.until - now + 10);
          continue;
        }
        const delay = Math.min((b?.delay ?? 500) * 2, 15 * 60_000);
        failedBackoff.set(k, { until: now + delay, delay });
        events.event(
          ds,
          'Warning',
          'FailedDaemonPod',
          `Found failed daemon pod ${p.metadata.namespace}/${p.metadata.name} on node ${name}, will try to kill it`,
        );
        toDelete.push(p);
      }
      const running = here.filter((p) => p.status?.phase !== 'Failed').sort((a, b) => created(a) - created(b));
      if (!isSurge(ds)) {
        toDelete.push(...running.slice(1));
        continue;
      }
      let oldestNew: Pod | undefined, oldestOld: Pod | undefined;
      for (const p of running) {
        if (isUpdated(ds, p, hash)) {
          if (!oldestNew) {
            oldestNew = p;
            continue;
          }
        } else if (!oldestOld) {
          oldestOld = p;
          continue;
        }
        toDelete.push(p);
      }
      if (oldestNew && oldestOld) {
        if (!isPodReady(oldestOld) || isPodAvailable(oldestNew, Number(ds.spec?.minReadySeconds) || 0, now))
          toDelete.push(oldestOld);
      }
    }
    await syncNodes(ds, toDelete, toCreate, hash);
  }

  async function syncNodes(ds: DaemonSet, toDelete: Pod[], toCreate: string[], hash: string): Promise<void> {
    const key = keyOf(ds);
    const del = [...new Map(toDelete.map((p) => [keyOf(p), p])).values()];
    if (!del.length && !toCreate.length) return;
    exp.expect(key, toCreate.length, del.map(keyOf));
    const ref = ownerRefFor(ds, 'apps/v1', 'DaemonSet');
    const { ok, error } = await slowStartBatch(toCreate.length, (i) => {
      const t = podTemplateFor(ds.spec?.template, toCreate[i]);
      t.metadata = { ...(t.metadata ?? {}) };
      t.metadata.labels = {
        ...(t.metadata.labels ?? {}),
        [REVISION_HASH_LABEL]: hash,
        [GENERATION_LABEL]: templateGeneration(ds),
      };
      return pods.create(ds, podFromTemplate(t, ds.metadata.namespace ?? '', ref));
    });
    if (toCreate.length - ok > 0) exp.lowerExpectations(key, toCreate.length - ok, 0);
    const results = await Promise.allSettled(del.map((p) => pods.delete(ds, p)));
    let first: unknown = error;
    results.forEach((r, i) => {
      if (r.status === 'rejected' || !r.value) exp.deletionFailed(key, keyOf(del[i]));
      if (r.status === 'rejected') first ??= r.reason;
    });
    if (first) throw first;
  }

  async function rollingUpdate(ds: DaemonSet, nodes: Node[], byNode: Map<string, Pod[]>, hash: string): Promise<void> {
    const desired = nodes.filter((n) => shouldRunOn(ds, n)[0]).length;
    const ru = ds.spec?.updateStrategy?.rollingUpdate ?? {};
    const surge = isSurge(ds) ? Math.max(0, scaledValue(ru.maxSurge ?? 0, desired, true) || 0) : 0;
    let maxUnavail = surge ? 0 : scaledValue(ru.maxUnavailable ?? 1, desired, true);
    if (!Number.isFinite(maxUnavail)) maxUnavail = 1;
    if (!surge && maxUnavail === 0) maxUnavail = 1;
    const mrs = Number(ds.spec?.minReadySeconds) || 0;
    const now = ctx.now();
    const nodeByName = new Map(nodes.map((n) => [n.metadata.name ?? '', n]));
    const toDelete: Pod[] = [];
    const toCreate: string[] = [];
    if (!surge) {
      let unavailable = 0;
      const allowed: Pod[] = [];
      const candidates: Pod[] = [];
      for (const [, list] of byNode) {
        const live = list.filter((p) => !p.metadata.deletionTimestamp);
        const news = live.filter((p) => isUpdated(ds, p, hash));
        const olds = live.filter((p) => !isUpdated(ds, p, hash));
        if (news.length > 1 || olds.length > 1 || (news.length && olds.length) || (!news.length && !olds.length)) {
          unavailable++;
          continue;
        }
        if (news.length) {
          if (!isPodAvailable(news[0], mrs, now)) unavailable++;
          continue;
        }
        if (!isPodAvailable(olds[0], mrs, now)) allowed.push(olds[0]);
        else if (unavailable < maxUnavail) candidates.push(olds[0]);
      }
      const room = Math.min(Math.max(0, maxUnavail - unavailable), candidates.length);
      toDelete.push(...allowed, ...candidates.slice(0, room));
    } else {
      let numSurge = 0,
        numAvailable = 0;
      const allowedNew: string[] = [];
      const candidateNew: string[] = [];
      const shouldNotRun: Pod[] = [];
      for (const [name, list] of byNode) {
        const live = list.filter((p) => !p.metadata.deletionTimestamp);
        const news = live.filter((p) => isUpdated(ds, p, hash));
        const olds = live.filter((p) => !isUpdated(ds, p, hash));
        if (news.length > 1 || olds.length > 1) {
          numSurge++;
          continue;
        }
        const [np, op] = [news[0], olds[0]];
        if (op ? isPodAvailable(op, mrs, now) : np && isPodAvailable(np, mrs, now)) numAvailable++;
        if (!op) continue;
        if (!np) {
          if (!isPodAvailable(op, mrs, now)) {
            const node = nodeByName.get(name);
            if (!node || !shouldRunOn(ds, node)[0]) shouldNotRun.push(op);
            else allowedNew.push(name);
          } else if (numSurge < surge) candidateNew.push(name);
          continue;
        }
        if (!isPodAvailable(np, mrs, now)) numSurge++;
        else toDelete.push(op);
      }
      const deletable = Math.min(Math.max(0, numAvailable - desired), shouldNotRun.length);
      toDelete.push(...shouldNotRun.slice(0, deletable));
      const room = Math.min(Math.max(0, surge - numSurge), candidateNew.length);
      toCreate.push(...allowedNew, ...candidateNew.slice(0, room));
    }
    await syncNodes(ds, toDelete, toCreate, hash);
  }

  async function updateStatus(ds: DaemonSet, nodes: Node[], byNode: Map<string, Pod[]>, hash: string): Promise<void> {
    let desired = 0,
      current = 0,
      mis = 0,
      ready = 0,
      available = 0,
      updated = 0;
    const mrs = Number(ds.spec?.minReadySeconds) || 0;
    const now = ctx.now();
    let wait: number | undefined;
    for (const node of nodes) {
      const [run] = shouldRunOn(ds, node);
      const here = (byNode.get(node.metadata.name ?? '') ?? [])
        .filter((p) => !p.metadata.deletionTimestamp)
        .sort((a, b) => created(a) - created(b));
      if (run) desired++;
      if (!here.length) continue;
      if (!run) {
        mis++;
        continue;
      }
      current++;
      const p = here[0];
      if (isPodReady(p)) ready++;
      if (isPodAvailable(p, mrs, now)) available++;
      else {
        const w = untilAvailable(p, mrs, now);
        if (w !== undefined) wait = Math.min(wait ?? w, w);
      }
      if (here.some((x) => isUpdated(ds, x, hash))) updated++;
    }
    const st: DaemonSetStatus = {
      ...(ds.status ?? {}),
      observedGeneration: ds.metadata.generation,
      desiredNumberScheduled: desired,
      currentNumberScheduled: current,
      numberMisscheduled: mis,
      numberReady: ready,
      numberAvailable: available,
      updatedNumberScheduled: updated,
      numberUnavailable: desired - available,
    };
    if (wait !== undefined) loop.queue.addAfter(keyOf(ds), wait + 50);
    const norm = (s: DaemonSetStatus | undefined) =>
      JSON.stringify([
        s?.observedGeneration,
        s?.desiredNumberScheduled ?? 0,
        s?.currentNumberScheduled ?? 0,
        s?.numberMisscheduled ?? 0,
        s?.numberReady ?? 0,
        s?.numberAvailable ?? 0,
        s?.updatedNumberScheduled ?? 0,
        s?.numberUnavailable ?? 0,
      ]);
    if (norm(ds.status) === norm(st)) return;
    await putStatus(ctx.client, R.daemonsets, ds, omitEmpty(st, DS_OMITEMPTY));
  }

  return { name: 'daemonset', run: () => loop.run(), stop: () => loop.stop(), resync: all };
}
