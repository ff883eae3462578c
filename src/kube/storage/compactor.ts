// The automatic compactor: every `intervalMs`, compact history older than the newest `keep`
// revisions (the API server's etcd compaction loop, by revision count rather than by time, so a
// quiet cluster keeps its recent history). Errors are logged and retried on the next tick.
export interface CompactorOptions {
  /** Interval between compactions in ms (default 5 min; 0 disables). */
  compactIntervalMs?: number;
  /** Revisions of history to keep (default 1000). */
  compactKeep?: number;
}

interface Compactable {
  currentRevision(): Promise<number>;
  compact(revision: number): Promise<void>;
}

export class Compactor {
  private timer?: NodeJS.Timeout;
  private running = false;
  private last = 0;

  constructor(
    private readonly store: Compactable,
    opts: CompactorOptions,
    private readonly onError: (e: unknown) => void,
  ) {
    const every = opts.compactIntervalMs ?? 300_000;
    const keep = Math.max(0, opts.compactKeep ?? 1000);
    if (every > 0) {
      this.timer = setInterval(() => void this.tick(keep), every);
      this.timer.unref();
    }
  }

  private async tick(keep: number): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      const target = (await this.store.currentRevision()) - keep;
      if (target > this.last) {
        await this.store.compact(target);
        this.last = target;
      }
    } catch (e) {
      this.onError(e);
    } finally {
      this.running = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
