// The scheduler's cache, as upstream's: nodes with the pods assigned to them (from the informers)
// plus the pods this scheduler has assumed onto a node and is still binding. Scheduling cycles read
// it synchronously (a cycle never awaits), so it needs no snapshot copy. Nodes are walked in
// upstream's node-tree order: zones interleaved, so the round-robin search spreads over zones.
import type { Snapshot } from './framework.js';
import { NodeInfo, PodInfo } from './nodeinfo.js';
import { normalizedImageName } from './plugins/node-resources.js';
import type { Node, Pod } from './types.js';

interface PodState {
  pi: PodInfo;
  node: string;
  assumed: boolean;
  bindingFinished: boolean;
}

const zoneOf = (n: Node) => {
  const l = n.metadata.labels ?? {};
  const region = l['topology.kubernetes.io/region'] ?? l['failure-domain.beta.kubernetes.io/region'] ?? '';
  const zone = l['topology.kubernetes.io/zone'] ?? l['failure-domain.beta.kubernetes.io/zone'] ?? '';
  return region || zone ? `${region}:\u0000:${zone}` : '';
};

export class SchedulerCache implements Snapshot {
  private nodes = new Map<string, NodeInfo>();
  /** Nodes known only through pods assigned to them (no Node object yet or any more). */
  private ghost = new Set<string>();
  private pods = new Map<string, PodState>();
  private images = new Map<string, { size: number; nodes: Set<string> }>();
  private ordered: NodeInfo[] | undefined;
  private withAffinity: NodeInfo[] | undefined;
  private withAntiAffinity: NodeInfo[] | undefined;
  /** Nodes changed, oldest first (repeats kept): log[0] is at cursor logStart. */
  private log: NodeInfo[] = [];
  private logStart = 0;

  // --- Snapshot ---
  nodeInfos(): NodeInfo[] {
    if (!this.ordered) {
      const zones = new Map<string, NodeInfo[]>();
      for (const [name, n] of this.nodes) {
        if (this.ghost.has(name)) continue;
        const z = zoneOf(n.node);
        let list = zones.get(z);
        if (!list) zones.set(z, (list = []));
        list.push(n);
      }
      const lists = [...zones.values()];
      const out: NodeInfo[] = [];
      for (let i = 0; out.length < this.nodes.size - this.ghost.size; i++)
        for (const l of lists) if (i < l.length) out.push(l[i]);
      this.ordered = out;
    }
    return this.ordered;
  }
  get(name: string): NodeInfo | undefined {
    return this.ghost.has(name) ? undefined : this.nodes.get(name);
  }
  havePodsWithAffinity(): NodeInfo[] {
    this.withAffinity ??= this.nodeInfos().filter((n) => n.podsWithAffinity.length > 0);
    return this.withAffinity;
  }
  havePodsWithRequiredAntiAffinity(): NodeInfo[] {
    this.withAntiAffinity ??= this.nodeInfos().filter((n) => n.podsWithRequiredAntiAffinity.length > 0);
    return this.withAntiAffinity;
  }
  changeCursor(): number {
    return this.logStart + this.log.length;
  }
  changedSince(cursor: number): readonly NodeInfo[] | undefined {
    if (cursor < this.logStart || cursor > this.changeCursor()) return undefined;
    return this.log.slice(cursor - this.logStart);
  }
  /** Records a change of `n` (its pods, its Node, or whether it is listed). The log keeps at least
   *  the last 2 × nodes + 4096 changes; a reader further behind starts over from nodeInfos(). */
  private changed(n: NodeInfo): void {
    this.log.push(n);
    if (this.log.length > 2 * this.nodes.size + 4096) {
      const drop = this.log.length >> 1;
      this.log = this.log.slice(drop);
      this.logStart += drop;
    }
  }
  imageState(name: string): { size: number; numNodes: number } | undefined {
    const s = this.images.get(name);
    return s ? { size: s.size, numNodes: s.nodes.size } : undefined;
  }

  get nodeCount(): number {
    return this.nodes.size - this.ghost.size;
  }

  // --- nodes ---
  addNode(node: Node): NodeInfo {
    const name = node.metadata.name ?? '';
    let n = this.nodes.get(name);
    // The node-tree order changes only with a new node or a node's zone (an update keeps its
    // NodeInfo): rebuilding it for every status update of 5000 nodes cost more than filtering.
    let reorder = !n || this.ghost.has(name);
    if (n) {
      if (zoneOf(n.node) !== zoneOf(node)) reorder = true;
      this.removeImages(n);
      n.setNode(node);
    } else this.nodes.set(name, (n = new NodeInfo(node)));
    this.ghost.delete(name);
    this.addImages(n);
    this.invalidate(reorder);
    this.changed(n);
    return n;
  }

  removeNode(name: string): void {
    const n = this.nodes.get(name);
    if (!n) return;
    this.removeImages(n);
    if (n.pods.length) this.ghost.add(name);
    else this.nodes.delete(name);
    this.invalidate(true);
    this.changed(n);
  }

  private addImages(n: NodeInfo): void {
    n.images = new Set();
    for (const img of n.node.status?.images ?? [])
      for (const name of img.names ?? []) {
        const norm = normalizedImageName(name);
        n.images.add(norm);
        let s = this.images.get(norm);
        if (!s) this.images.set(norm, (s = { size: img.sizeBytes ?? 0, nodes: new Set() }));
        s.nodes.add(n.name);
      }
  }
  private removeImages(n: NodeInfo): void {
    for (const name of n.images) {
      const s = this.images.get(name);
      if (!s) continue;
      s.nodes.delete(n.name);
      if (!s.nodes.size) this.images.delete(name);
    }
  }

  private invalidate(nodes: boolean): void {
    if (nodes) this.ordered = undefined;
    this.withAffinity = undefined;
    this.withAntiAffinity = undefined;
  }

  private nodeFor(name: string): NodeInfo {
    let n = this.nodes.get(name);
    if (!n) {
      n = new NodeInfo({ metadata: { name } });
      this.nodes.set(name, n);
      this.ghost.add(name);
    }
    return n;
  }

  private place(pi: PodInfo, node: string): void {
    const n = this.nodeFor(node);
    n.addPod(pi);
    this.changed(n);
    if (pi.hasAffinity) this.invalidate(false);
  }
  private unplace(key: string, node: string): void {
    const n = this.nodes.get(node);
    if (!n) return;
    const had = n.podsWithAffinity.some((p) => p.key === key);
    n.removePod(key);
    this.changed(n);
    if (had) this.invalidate(false);
    if (!n.pods.length && this.ghost.has(node)) {
      this.nodes.delete(node);
      this.ghost.delete(node);
    }
  }

  // --- pods ---
  /** The pod, placed on `node` ahead of its binding (assume). */
  assumePod(pi: PodInfo, node: string): PodInfo {
    const pod: Pod = { ...pi.pod, spec: { ...pi.pod.spec, nodeName: node } };
    const assumed = new PodInfo(pod, pi);
    this.place(assumed, node);
    this.pods.set(assumed.key, { pi: assumed, node, assumed: true, bindingFinished: false });
    return assumed;
  }
  finishBinding(key: string): void {
    const s = this.pods.get(key);
    if (s?.assumed) s.bindingFinished = true;
  }
  /** Undoes an assume (binding failed). */
  forgetPod(key: string): void {
    const s = this.pods.get(key);
    if (!s?.assumed) return;
    this.unplace(key, s.node);
    this.pods.delete(key);
  }
  isAssumed(key: string): boolean {
    return !!this.pods.get(key)?.assumed;
  }

  /** An assigned pod seen by the informer (confirms an assumed one). */
  addPod(pod: Pod): void {
    const pi = new PodInfo(pod);
    const node = pod.spec.nodeName ?? '';
    const s = this.pods.get(pi.key);
    if (s) this.unplace(pi.key, s.node);
    this.place(pi, node);
    this.pods.set(pi.key, { pi, node, assumed: false, bindingFinished: false });
  }
  updatePod(pod: Pod): void {
    this.addPod(pod);
  }
  removePod(pod: Pod): void {
    const key = pod.metadata.uid ?? `${pod.metadata.namespace}/${pod.metadata.name}`;
    const s = this.pods.get(key);
    if (!s) return;
    this.unplace(key, s.node);
    this.pods.delete(key);
  }
  podCount(): number {
    return this.pods.size;
  }
}
