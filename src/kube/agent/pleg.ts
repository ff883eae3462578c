// The pod lifecycle event generator: the runtime's container events (created, started, stopped,
// deleted) name the pod that changed; a relist every few seconds compares every container's and
// sandbox's state with the previous relist to catch what an event stream may miss (a reconnect,
// a runtime restart). Either way the pod's worker is asked to sync; nothing acts on the payload.
import type { Logger } from '../../common/index.js';
import type { ContainerRuntime } from '../../cri/index.js';
import { POD_UID } from './labels.js';
import type { SandboxIndex } from './sandbox-index.js';
import { sleep } from '../../common/index.js';

export class Pleg {
  private ac = new AbortController();
  private last = new Map<string, { uid: string; state: string }>();
  private timer?: NodeJS.Timeout;
  /** Pod uids the runtime held at the last relist. */
  runtimePods = new Set<string>();
  relists = 0;

  constructor(
    private runtime: ContainerRuntime,
    private onPod: (uid: string) => void,
    private log: Logger,
    private relistMs = 2000,
    private index?: SandboxIndex,
  ) {}

  async start(): Promise<void> {
    await this.relist();
    void this.watch();
    const loop = () => {
      this.timer = setTimeout(async () => {
        try {
          await this.relist();
        } catch (e) {
          this.log.debug('relist failed', { error: String(e) });
        }
        if (!this.ac.signal.aborted) loop();
      }, this.relistMs);
      this.timer.unref?.();
    };
    loop();
  }

  stop(): void {
    this.ac.abort();
    clearTimeout(this.timer);
  }

  private async watch(): Promise<void> {
    while (!this.ac.signal.aborted) {
      try {
        for await (const e of this.runtime.getContainerEvents({}, this.ac.signal)) {
          const uid = e.containersStatuses[0]?.labels?.[POD_UID] ?? e.podSandboxStatus?.metadata?.uid;
          if (uid) this.onPod(uid);
        }
      } catch (e) {
        if (this.ac.signal.aborted) return;
        this.log.debug('container events ended', { error: String(e) });
      }
      await sleep(1000);
    }
  }

  /** Compares the runtime's containers and sandboxes with the previous relist. */
  async relist(): Promise<void> {
    const startedAt = performance.now();
    const [cs, sbs] = await Promise.all([this.runtime.listContainers({}), this.runtime.listPodSandbox({})]);
    this.relists++;
    const now = new Map<string, { uid: string; state: string }>();
    const pods = new Set<string>();
    for (const c of cs.containers) {
      const uid = c.labels[POD_UID];
      if (!uid) continue;
      now.set(c.id, { uid, state: c.state });
      pods.add(uid);
    }
    const byPod = new Map<string, string[]>();
    for (const s of sbs.items) {
      const uid = s.labels[POD_UID] ?? s.metadata?.uid;
      if (!uid) continue;
      now.set(s.id, { uid, state: s.state });
      pods.add(uid);
      byPod.set(uid, [...(byPod.get(uid) ?? []), s.id]);
    }
    this.index?.replace(byPod, startedAt);
    const changed = new Set<string>();
    for (const [id, v] of now) if (this.last.get(id)?.state !== v.state) changed.add(v.uid);
    for (const [id, v] of this.last) if (!now.has(id)) changed.add(v.uid);
    this.last = now;
    this.runtimePods = pods;
    for (const uid of changed) this.onPod(uid);
  }
}
