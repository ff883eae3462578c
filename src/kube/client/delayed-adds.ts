// Keys to be added to a queue later, as client-go's delaying queue keeps them: a key waiting
// keeps only its earliest time, so a caller that re-schedules a key on every pass cannot multiply
// its wake-ups. Shared by the controllers' WorkQueue and the node agent's PodQueue.
export class DelayedAdds<K> {
  private timers = new Map<K, { timer: NodeJS.Timeout; at: number }>();

  constructor(private readonly add: (k: K) => void) {}

  /** Adds `k` after `ms` (at once when ms ≤ 0), unless it is already due no later than that. */
  after(k: K, ms: number): void {
    if (ms <= 0) return this.add(k);
    const at = Date.now() + ms;
    const cur = this.timers.get(k);
    if (cur && cur.at <= at) return;
    if (cur) clearTimeout(cur.timer);
    const timer = setTimeout(() => {
      this.timers.delete(k);
      this.add(k);
    }, ms);
    timer.unref?.();
    this.timers.set(k, { timer, at });
  }

  /** Cancels every pending add. */
  clear(): void {
    for (const t of this.timers.values()) clearTimeout(t.timer);
    this.timers.clear();
  }
}
