// The batching loop of the node's rule syncers (service proxy, network policy): changes are marked
// as they arrive, one timer coalesces a burst into one sync, and syncs never overlap.

export class BatchedSync {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;

  /** `sync` must not reject (it logs its own failures and calls `schedule` to retry). */
  constructor(
    private readonly sync: () => Promise<void>,
    private readonly delayMs = 10,
  ) {}

  /** A change arrived: a sync runs `delayMs` from the first unsynced change (no timer after stop). */
  schedule(delayMs = this.delayMs): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.now();
    }, delayMs);
  }

  /** Runs a sync now, after the one in flight; resolves when it is done. */
  async now(): Promise<void> {
    await this.idle();
    this.running = this.sync().finally(() => (this.running = undefined));
    await this.running;
  }

  /** Resolves when no sync is in flight. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  /** No more timed syncs; resolves when the one in flight is done. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }
}
