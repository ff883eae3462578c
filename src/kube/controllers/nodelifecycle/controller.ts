// Node lifecycle controller (upstream's nodelifecycle): watches node heartbeats (the Lease in
// kube-node-lease and the Ready condition's lastHeartbeatTime, timed by this controller's clock
// when they change, never by comparing clocks), marks a node whose kubelet went silent for the
// grace period Ready=Unknown (NodeStatusUnknown, or NodeStatusNeverUpdated), marks its pods not
// ready, and keeps the taints that follow node state: NoExecute not-ready / unreachable
// (taint-based eviction) and NoSchedule taints by condition (not-ready, unreachable,
// unschedulable, memory/disk/pid pressure, network-unavailable).
import { resourcePath } from '../../client/index.js';
import { isNotFound, putStatus } from '../shared/control.js';
import { Loop, type Controller, type ControllerContext } from '../shared/context.js';
import { getCondition, rfc3339 } from '../shared/pods.js';
import { R } from '../shared/resources.js';
import type { Condition, Lease, Node, Pod, Taint } from '../shared/types.js';

export const NOT_READY = 'node.kubernetes.io/not-ready';
export const UNREACHABLE = 'node.kubernetes.io/unreachable';
const UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
const BY_CONDITION: Record<string, string> = {
  MemoryPressure: 'node.kubernetes.io/memory-pressure',
  DiskPressure: 'node.kubernetes.io/disk-pressure',
  PIDPressure: 'node.kubernetes.io/pid-pressure',
  NetworkUnavailable: 'node.kubernetes.io/network-unavailable',
};
const UNKNOWN_WHEN_SILENT = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'];
const MANAGED = new Set([NOT_READY, UNREACHABLE, UNSCHEDULABLE, ...Object.values(BY_CONDITION)]);

const BETA_LABELS = [
  ['kubernetes.io/os', 'beta.kubernetes.io/os'],
  ['kubernetes.io/arch', 'beta.kubernetes.io/arch'],
];

export interface NodeLifecycleOptions {
  /** How long a node may stay silent before it is Unknown (upstream --node-monitor-grace-period, 40 s). */
  gracePeriodMs?: number;
  /** How often every node is checked (upstream --node-monitor-period, 5 s). */
  monitorPeriodMs?: number;
}

interface Probe {
  heartbeat: string;
  lease: string;
  at: number;
}

/** The taints a node should carry given its conditions and spec (the managed keys only). */
export function desiredTaints(n: Node): { key: string; effect: string }[] {
  const out: { key: string; effect: string }[] = [];
  const ready = getCondition(n.status?.conditions, 'Ready');
  if (ready?.status === 'False')
    out.push({ key: NOT_READY, effect: 'NoExecute' }, { key: NOT_READY, effect: 'NoSchedule' });
  // A node that never posted a Ready condition is not tainted yet: after the grace period this
  // controller writes Ready=Unknown (NodeStatusNeverUpdated) and the taints follow, as upstream.
  else if (ready?.status === 'Unknown')
    out.push({ key: UNREACHABLE, effect: 'NoExecute' }, { key: UNREACHABLE, effect: 'NoSchedule' });
  if (n.spec?.unschedulable) out.push({ key: UNSCHEDULABLE, effect: 'NoSchedule' });
  for (const [type, key] of Object.entries(BY_CONDITION))
    if (getCondition(n.status?.conditions, type)?.status === 'True') out.push({ key, effect: 'NoSchedule' });
  return out;
}

export function startNodeLifecycleController(ctx: ControllerContext, opts: NodeLifecycleOptions = {}): Controller {
  const log = ctx.log.child({ controller: 'node-lifecycle' });
  const grace = opts.gracePeriodMs ?? 40_000;
  const period = opts.monitorPeriodMs ?? 5_000;
  const nodeInf = ctx.informers.for<Node>(R.nodes);
  const leaseInf = ctx.informers.for<Lease>(R.leases);
  const podInf = ctx.informers.for<Pod>(R.pods);
  podInf.addIndexer('node', (p) => (p.spec?.nodeName ? [p.spec.nodeName] : []));
  const events = ctx.events.for('node-controller');
  const probes = new Map<string, Probe>();
  const loop = new Loop({ ...ctx, log }, { name: 'node-lifecycle', workers: 2, sync });
  let timer: NodeJS.Timeout | undefined;

  const all = () => {
    for (const n of nodeInf.list()) loop.add(n.metadata.name ?? '');
  };
  // Upstream's node events of this controller: each node it first sees (a new node, or every node
  // when it starts) is RegisteredNode, a deleted one RemovingNode, "Node <name> event: …" on the
  // Node's uid (kubectl describe node lists them beside the kubelet's).
  const nodeEvent = (n: Node, reason: string, what: string) =>
    events.event(
      { ...n, apiVersion: 'v1', kind: 'Node' },
      'Normal',
      reason,
      `Node ${n.metadata.name} event: ${what} Node ${n.metadata.name} ${reason === 'RegisteredNode' ? 'in' : 'from'} Controller`,
    );
  nodeInf.addHandlers({
    add: (n) => {
      nodeEvent(n, 'RegisteredNode', 'Registered');
      loop.add(n.metadata.name ?? '');
    },
    update: (_o, n) => loop.add(n.metadata.name ?? ''),
    delete: (n) => {
      probes.delete(n.metadata.name ?? '');
      nodeEvent(n, 'RemovingNode', 'Removing');
    },
  });
  leaseInf.addHandlers({
    add: (l) => {
      if (l.metadata.namespace === 'kube-node-lease') loop.add(l.metadata.name ?? '');
    },
    update: (_o, l) => {
      if (l.metadata.namespace === 'kube-node-lease') loop.add(l.metadata.name ?? '');
    },
  });

  async function sync(name: string): Promise<void> {
    const cached = nodeInf.get(undefined, name);
    if (!cached) return;
    const now = ctx.now();
    // Read-only here (a copy only for markUnknown): the monitor visits every node each 5 s, and a
    // deep copy of each was 5 % of the server's CPU with 5000 nodes (scheduler benchmark).
    const node = cached;
    const ready = getCondition(node.status?.conditions, 'Ready');
    const lease = leaseInf.get('kube-node-lease', name)?.spec?.renewTime ?? '';
    const heartbeat = ready?.lastHeartbeatTime ?? '';
    let probe = probes.get(name);
    if (!probe) {
      // First sight (a new node, or this controller just started): a full grace period from now.
      probe = { heartbeat, lease, at: now };
      probes.set(name, probe);
    } else if (probe.heartbeat !== heartbeat || probe.lease !== lease) {
      probe.heartbeat = heartbeat;
      probe.lease = lease;
      probe.at = now;
    }
    let silent = now - probe.at;
    if (silent >= grace && ready?.status !== 'Unknown' && (await heardLive(name, probe, now))) silent = 0;
    if (silent >= grace && ready?.status !== 'Unknown') {
      await markUnknown(structuredClone(node), now);
      return; // the status write brings the next sync, which sets taints from the new status
    }
    if (silent < grace) loop.queue.addAfter(name, grace - silent + 50);
    await reconcileTaints(node, now);
    await reconcileLabels(node);
  }

  /** Upstream's reconcileNodeLabels: the beta OS and arch labels follow the stable ones. */
  async function reconcileLabels(node: Node): Promise<void> {
    const labels = node.metadata.labels ?? {};
    const add: Record<string, string> = {};
    for (const [stable, beta] of BETA_LABELS)
      if (labels[stable] !== undefined && labels[beta] !== labels[stable]) add[beta] = labels[stable];
    if (!Object.keys(add).length) return;
    try {
      await ctx.client.request('PATCH', resourcePath(R.nodes, undefined, node.metadata.name), {
        body: { metadata: { labels: add } },
        contentType: 'application/merge-patch+json',
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  /**
   * Before a node is declared silent, its Lease and status are read live: a watch that lags (a
   * loaded server, a re-list, or this process resuming after a stall with the heartbeats still
   * unread in its socket) must not turn a late event into a dead node. True when a heartbeat
   * newer than the probe's was found (the probe is moved on).
   */
  async function heardLive(name: string, probe: Probe, now: number): Promise<boolean> {
    let lease = '';
    try {
      const l = await ctx.client.request<Lease>('GET', resourcePath(R.leases, 'kube-node-lease', name));
      lease = l.spec?.renewTime ?? '';
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    let heartbeat = '';
    try {
      const n = await ctx.client.request<Node>('GET', resourcePath(R.nodes, undefined, name));
      heartbeat = getCondition(n.status?.conditions, 'Ready')?.lastHeartbeatTime ?? '';
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    if (lease === probe.lease && heartbeat === probe.heartbeat) return false;
    Object.assign(probe, { lease, heartbeat, at: now });
    return true;
  }

  async function markUnknown(node: Node, now: number): Promise<void> {
    const t = rfc3339(now);
    const conds = [...(node.status?.conditions ?? [])];
    // Upstream's tryUpdateNodeHealth: Ready and the three pressure conditions (never
    // NetworkUnavailable, which the control plane manages) become Unknown; one the kubelet never
    // posted is added as NodeStatusNeverUpdated; one already Unknown is left as it is.
    for (const type of UNKNOWN_WHEN_SILENT) {
      const cur = getCondition(conds, type);
      if (cur?.status === 'Unknown') continue;
      const next: Condition = {
        type,
        status: 'Unknown',
        reason: cur ? 'NodeStatusUnknown' : 'NodeStatusNeverUpdated',
        message: cur ? 'Kubelet stopped posting node status.' : 'Kubelet never posted node status.',
        lastHeartbeatTime: cur?.lastHeartbeatTime ?? node.metadata.creationTimestamp,
        lastTransitionTime: t,
      };
      const i = conds.findIndex((c) => c.type === type);
      if (i >= 0) conds[i] = next;
      else conds.push(next);
    }
    log.info('node stopped posting status; marking Unknown', { node: node.metadata.name });
    events.event(
      { ...node, apiVersion: 'v1', kind: 'Node' },
      'Normal',
      'NodeNotReady',
      `Node ${node.metadata.name} status is now: NodeNotReady`,
    );
    await putStatus(ctx.client, R.nodes, node, { ...(node.status ?? {}), conditions: conds });
    await markPodsNotReady(node.metadata.name ?? '', now);
  }

  /** Pods on an unreachable node are not ready (endpoints drop them), as upstream's MarkPodsNotReady. */
  async function markPodsNotReady(name: string, now: number): Promise<void> {
    for (const p of podInf.byIndex('node', name)) {
      const ready = getCondition(p.status?.conditions, 'Ready');
      if (!ready || ready.status === 'False') continue;
      const conds = (p.status?.conditions ?? []).map((c) =>
        c.type === 'Ready' ? { ...c, status: 'False', lastTransitionTime: rfc3339(now) } : c,
      );
      try {
        await ctx.client.request('PATCH', resourcePath(R.pods, p.metadata.namespace, p.metadata.name, 'status'), {
          body: { status: { conditions: conds } },
          contentType: 'application/merge-patch+json',
        });
      } catch (e) {
        if (isNotFound(e)) continue;
        throw e;
      }
      events.event({ ...p, apiVersion: 'v1', kind: 'Pod' }, 'Warning', 'NodeNotReady', 'Node is not ready');
    }
  }

  async function reconcileTaints(node: Node, now: number): Promise<void> {
    const have = node.spec?.taints ?? [];
    const want = desiredTaints(node);
    const keep = have.filter((t) => !MANAGED.has(t.key) || want.some((w) => w.key === t.key && w.effect === t.effect));
    const add: Taint[] = want
      .filter((w) => !have.some((t) => t.key === w.key && t.effect === w.effect))
      // Every taint this controller adds carries its time (upstream's SwapNodeControllerTaint).
      .map((w) => ({ ...w, timeAdded: rfc3339(now) }));
    if (!add.length && keep.length === have.length) return;
    const taints = [...keep, ...add];
    try {
      await ctx.client.request('PATCH', resourcePath(R.nodes, undefined, node.metadata.name), {
        body: {
          metadata: { resourceVersion: node.metadata.resourceVersion },
          spec: { taints: taints.length ? taints : null },
        },
        contentType: 'application/merge-patch+json',
      });
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
  }

  return {
    name: 'node-lifecycle',
    run: () => {
      loop.run();
      timer = setInterval(all, period);
      timer.unref();
    },
    stop: () => {
      if (timer) clearInterval(timer);
      loop.stop();
    },
    resync: all,
  };
}
