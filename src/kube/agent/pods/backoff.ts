// Exponential back-off per key, as client-go's flowcontrol.Backoff that kubelet uses for crash
// loops and image pulls: the first delay is 10 s, each further one doubles up to 5 min; an entry
// whose last event is more than twice the maximum old (10 min, e.g. a container that then ran that
// long) starts again from the first delay.
export class Backoff {
  private entries = new Map<string, { delayMs: number; lastMs: number }>();
  constructor(
    readonly initialMs = 10_000,
    readonly maxMs = 300_000,
    private now: () => number = Date.now,
  ) {}

  private expired(eventMs: number, lastMs: number): boolean {
    return eventMs - lastMs > this.maxMs * 2;
  }

  /** Records an event at `eventMs` and returns the delay now in force. */
  next(key: string, eventMs = this.now()): number {
    const e = this.entries.get(key);
    if (!e || this.expired(eventMs, e.lastMs)) {
      this.entries.set(key, { delayMs: this.initialMs, lastMs: eventMs });
      return this.initialMs;
    }
    e.delayMs = Math.min(e.delayMs * 2, this.maxMs);
    e.lastMs = eventMs;
    return e.delayMs;
  }

  /** Whether `eventMs` (e.g. the container's last exit) is still within the current delay; the
   *  remaining milliseconds when it is. */
  inBackoffSince(key: string, eventMs: number): number {
    const e = this.entries.get(key);
    if (!e || this.expired(eventMs, e.lastMs)) return 0;
    const left = eventMs + e.delayMs - this.now();
    return left > 0 ? left : 0;
  }

  delay(key: string): number {
    return this.entries.get(key)?.delayMs ?? 0;
  }

  /** Drops entries not touched for twice the maximum (kubelet's GC of its back-off table). */
  gc(): void {
    const t = this.now();
    for (const [k, e] of this.entries) if (this.expired(t, e.lastMs)) this.entries.delete(k);
  }

  forget(prefix: string): void {
    for (const k of this.entries.keys()) if (k.startsWith(prefix)) this.entries.delete(k);
  }
}

/** `10s`, `1m20s`, `5m0s` — Go's time.Duration formatting for whole seconds, as messages show it. */
export function goDuration(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${s % 60}s`;
  return `${Math.floor(m / 60)}h${m % 60}m${s % 60}s`;
}
