// Shared etcd watches (a small watch cache): Store watches on the same prefix share one etcd
// watch, started "from now", which keeps the last RING events. A Store watch from revision r
// joins the hub when the ring still covers every event after r (r ≥ windowStart); otherwise it
// gets a dedicated etcd watch from r (which replays from etcd's history and checks compaction).
// So 1000 watchers of /registry/pods/ cost one etcd watch and one decode of each event, instead
// of 1000 (the API server's watch cache does this upstream).
// A subscriber that falls more than `bufferLimit` events behind is ended gracefully (iteration
// done after what it has): the API server then ends the HTTP watch and the client re-watches
// from the last resourceVersion it saw, as after a timeout. A failure of the shared watch ends
// every subscriber with that error (Compacted → 410 → relist).
import type { WatchEvent } from '../types.js';
import { EventQueue } from '../queue.js';
import { EtcdWatch } from './watch.js';
import type { EtcdStore } from './store.js';

const RING = 2000;
const IDLE_MS = 30_000;

export class HubSub extends EventQueue {
  lastRev = 0;
  inner?: EtcdWatch;
  constructor(
    readonly progressNotify: boolean,
    private readonly bufferLimit: number,
    onClose: (s: HubSub) => void,
  ) {
    super(() => {
      this.inner?.close();
      onClose(this);
    });
  }

  deliver(ev: WatchEvent, rev: number): void {
    if (rev <= this.lastRev) return;
    if (this.size >= this.bufferLimit) {
      this.end();
      return;
    }
    this.lastRev = rev;
    this.push(ev);
  }

  /** Pipes a dedicated etcd watch into this subscriber. */
  pipe(inner: EtcdWatch): void {
    this.inner = inner;
    void (async () => {
      try {
        for await (const ev of inner) this.push(ev);
        this.end();
      } catch (e) {
        this.fail(e instanceof Error ? e : new Error(String(e)));
      }
    })();
  }
}

export class WatchHub {
  private readonly subs = new Set<HubSub>();
  private pending: { sub: HubSub; from: number }[] = [];
  private ring: { ev: WatchEvent; rev: number }[] = [];
  private head = 0;
  /** Every event with a revision > windowStart (up to lastRev) is in the ring. */
  private windowStart = -1;
  private lastRev = 0;
  private live = false;
  failed = false;
  private idleTimer?: NodeJS.Timeout;
  private readonly source: EtcdWatch;

  constructor(
    private readonly store: EtcdStore,
    readonly prefix: string,
    private readonly onGone: (h: WatchHub) => void,
  ) {
    this.source = new EtcdWatch(store, prefix, true, () => undefined);
    void this.source.start(0);
    void this.source.ready.then((rev) => {
      if (rev < 0) return;
      this.windowStart = this.lastRev = rev;
      this.live = true;
      const p = this.pending;
      this.pending = [];
      for (const { sub, from } of p) this.attach(sub, from);
    });
    void this.pump();
  }

  add(sub: HubSub, from: number): void {
    clearTimeout(this.idleTimer);
    if (this.live) this.attach(sub, from);
    else this.pending.push({ sub, from });
  }

  private attach(sub: HubSub, from: number): void {
    if (sub.closed) return;
    if (from === 0) from = this.lastRev;
    if (from < this.windowStart || from < this.store.compactedTo) {
      // Older than the ring, or compacted: a dedicated etcd watch replays it (or reports Compacted).
      const d = new EtcdWatch(this.store, this.prefix, sub.progressNotify, () => undefined);
      void d.start(from);
      sub.pipe(d);
      return;
    }
    sub.lastRev = from;
    for (let i = this.head; i < this.ring.length; i++) sub.deliver(this.ring[i].ev, this.ring[i].rev);
    if (this.lastRev > sub.lastRev) sub.lastRev = this.lastRev;
    this.subs.add(sub);
  }

  remove(sub: HubSub): void {
    this.subs.delete(sub);
    this.pending = this.pending.filter((p) => p.sub !== sub);
    if (this.subs.size === 0 && this.pending.length === 0 && !this.failed) {
      clearTimeout(this.idleTimer);
      this.idleTimer = setTimeout(() => {
        if (this.subs.size === 0 && this.pending.length === 0) this.close();
      }, IDLE_MS);
      this.idleTimer.unref();
    }
  }

  private async pump(): Promise<void> {
    try {
      for await (const ev of this.source) {
        if (ev.type === 'PROGRESS') {
          if (ev.revision > this.lastRev) this.lastRev = ev.revision;
          for (const s of this.subs) {
            if (s.lastRev < this.lastRev) s.lastRev = this.lastRev;
            if (s.progressNotify) s.push({ type: 'PROGRESS', revision: this.lastRev });
          }
          continue;
        }
        const rev = ev.kv.modRevision;
        if (ev.type === 'PUT') this.store.recent.put(ev.kv);
        else this.store.recent.forget(ev.kv.key, rev);
        this.ring.push({ ev, rev });
        if (this.ring.length - this.head > RING) {
          this.windowStart = this.ring[this.head].rev;
          this.head++;
          if (this.head > 1024) {
            this.ring = this.ring.slice(this.head);
            this.head = 0;
          }
        }
        this.lastRev = rev;
        for (const s of this.subs) s.deliver(ev, rev);
      }
      this.finish();
    } catch (e) {
      this.finish(e instanceof Error ? e : new Error(String(e)));
    }
  }

  private finish(err?: Error): void {
    if (this.failed) return;
    this.failed = true;
    this.onGone(this);
    const all = [...this.subs, ...this.pending.map((p) => p.sub)];
    this.subs.clear();
    this.pending = [];
    for (const s of all) {
      if (err) s.fail(err);
      else s.end();
    }
  }

  close(): void {
    clearTimeout(this.idleTimer);
    this.source.close();
    this.finish();
  }
}
