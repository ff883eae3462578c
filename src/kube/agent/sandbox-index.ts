// Which sandboxes each pod has, kept from the PLEG's relist and from the agent's own
// RunPodSandbox/RemovePodSandbox calls, so a pod's sync asks the runtime about its own sandboxes
// (PodSandboxStatus) instead of listing every sandbox of the node (kubelet's PLEG cache plays this
// role). An entry the agent added after a relist began survives that relist's replacement.
export class SandboxIndex {
  private byPod = new Map<string, Map<string, number>>();

  /** Sandbox ids of a pod (any order). */
  of(uid: string): string[] {
    return [...(this.byPod.get(uid)?.keys() ?? [])];
  }

  add(uid: string, id: string, at = performance.now()): void {
    let m = this.byPod.get(uid);
    if (!m) this.byPod.set(uid, (m = new Map()));
    m.set(id, at);
  }

  remove(id: string): void {
    for (const [uid, m] of this.byPod) {
      m.delete(id);
      if (!m.size) this.byPod.delete(uid);
    }
  }

  /** The runtime's full view, listed at `startedAt`: entries added since are kept. */
  replace(all: Map<string, string[]>, startedAt: number): void {
    const next = new Map<string, Map<string, number>>();
    for (const [uid, ids] of all) next.set(uid, new Map(ids.map((id) => [id, startedAt])));
    for (const [uid, m] of this.byPod)
      for (const [id, at] of m)
        if (at > startedAt) {
          let n = next.get(uid);
          if (!n) next.set(uid, (n = new Map()));
          n.set(id, at);
        }
    this.byPod = next;
  }
}
