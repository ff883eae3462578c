// One Store watch over one etcd watch (prev_kv and progress_notify on), on the store's own
// HTTP/2 client (kv.ts `watch`, h2.ts): one gRPC Watch stream per Store watch.
// - Start: a watch from revision r > 0 first checks r with a range read at r, which fails with
//   Compacted when r is older than etcd's compact revision (etcd itself would still serve r + 1 =
//   the compact revision; the store's contract is Compacted for every r below it, as on SQLite).
//   Then etcd is asked to watch from r + 1; "from now" (0) attaches at etcd's current revision,
//   which its `created` reply carries in the header (`ready` resolves with it).
// - Events: every event with a revision above the last one queued is queued, in order. A reply's
//   header revision is not taken as "all sent": etcd sends a watcher that is catching up (from the
//   past, or behind under load) at most 1000 revisions per reply, each headed with the current
//   revision (taking the header dropped later events: the scheduler benchmark lost pod events).
//   Only a progress notification (a reply without events) vouches that everything up to its header
//   revision was sent.
// - Resume: a stream that breaks (etcd restarted, a connection cut, a member gone) is re-created
//   from the last revision queued + 1 (the start revision before any event), after 50 ms, doubling
//   to 2 s while it keeps failing; events at or below the last one queued are dropped, so nothing
//   is skipped or doubled. If that point was compacted meanwhile, etcd cancels the new watcher with
//   its compact revision and the watch ends with Compacted (the API server's 410), never a gap.
// - Cancel: etcd cancels a watcher with compact_revision set (→ Compacted) or with a reason
//   (permission denied, …; → Unavailable/WatchCanceled).
// - Progress: etcd's progress notifications (every --experimental-watch-progress-notify-interval,
//   10 min by default) become PROGRESS events; between them a PROGRESS is synthesized every
//   progressIntervalMs from the last revision vouched for — a safe, possibly older, bookmark.
// - close(): resets the stream (etcd drops the watcher), stops retrying.
import type { WatchEvent } from '../types.js';
import { EventQueue } from '../queue.js';
import type { EtcdStore } from './store.js';
import { GrpcError, type WatchCall } from './kv.js';
import type { WatchReply } from './watch-codec.js';
import { mapEtcdError } from './errors.js';
import { compacted } from '../errors.js';
import { unavailable } from '../../../common/index.js';

const RETRY_MIN_MS = 50;
const RETRY_MAX_MS = 2000;
/** gRPC codes of a stream that broke for a passing reason: CANCELLED, UNKNOWN, DEADLINE_EXCEEDED,
 *  RESOURCE_EXHAUSTED, INTERNAL (a reset, a reply that did not decode), UNAVAILABLE. */
const RETRIED = new Set([1, 2, 4, 8, 13, 14]);

export class EtcdWatch extends EventQueue {
  private call?: WatchCall;
  /** Every event up to lastRev has been queued. */
  private lastRev = 0;
  private timer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private retryMs = RETRY_MIN_MS;
  /** Authenticated again after a cancel, since the last watcher etcd accepted. */
  private reauthed = false;
  /** Streams opened so far (1 + reconnections). */
  streams = 0;

  private setReady!: (rev: number) => void;
  /** Resolves with the revision the watch starts after, once etcd has attached it (-1 if it failed first). */
  readonly ready = new Promise<number>((resolve) => {
    this.setReady = resolve;
  });

  constructor(
    private readonly store: EtcdStore,
    readonly prefix: string,
    private readonly progressNotify: boolean,
    onClose: () => void,
  ) {
    super(() => {
      this.stop();
      this.setReady(-1);
      onClose();
    });
  }

  async start(from: number): Promise<void> {
    const s = this.store;
    try {
      if (from > 0) {
        // Fails with Compacted when `from` is older than etcd's compact revision (FutureRevision is fine: etcd waits).
        try {
          await s.read(
            () =>
              s.kv.range({
                key: s.rangeStart(this.prefix),
                range_end: s.rangeEnd(this.prefix),
                count_only: true,
                revision: from,
              }),
            { revision: from },
          );
        } catch (e) {
          if (!(e instanceof Error && 'reason' in e && e.reason === 'FutureRevision')) throw e;
        }
        this.lastRev = from;
      }
      if (this.closed) return;
      if (this.progressNotify) {
        this.timer = setInterval(() => this.synthesizeProgress(), s.progressIntervalMs);
        this.timer.unref();
      }
      await this.connect();
    } catch (e) {
      this.fail(mapEtcdError(e, { revision: from }));
    }
  }

  /** Opens a watch stream from just after the last revision queued (or from now, before any). */
  private async connect(): Promise<void> {
    const s = this.store;
    this.streams++;
    let call: WatchCall;
    try {
      call = await s.kv.watch(
        {
          key: s.rangeStart(this.prefix),
          range_end: s.rangeEnd(this.prefix),
          start_revision: this.lastRev > 0 ? this.lastRev + 1 : 0,
          prev_kv: true,
          progress_notify: true,
        },
        (r) => {
          if (this.call === call) this.onReply(r);
        },
      );
    } catch (e) {
      this.retry(e);
      return;
    }
    if (this.closed) {
      call.cancel();
      // (canceled on purpose: its CANCELLED is expected)
      call.done.catch(() => undefined);
      return;
    }
    this.call = call;
    call.done.then(
      () => this.streamEnded(call, unavailable('etcd ended the watch stream')),
      (e: unknown) => this.streamEnded(call, e),
    );
  }

  private streamEnded(call: WatchCall, err: unknown): void {
    if (this.call !== call) return; // (replaced, canceled or closed)
    this.call = undefined;
    this.retry(err);
  }

  /**
   * Re-creates the stream after a pause (the resume point is lastRev + 1) when it broke for a
   * passing reason; a refusal (permission, a bad request) ends the watch with that error.
   */
  private retry(err: unknown): void {
    if (this.closed || this.retryTimer) return;
    const code = err instanceof GrpcError ? err.code : 14;
    const details = err instanceof GrpcError ? err.details : '';
    if (!RETRIED.has(code) && !/invalid auth token/.test(details)) {
      this.stop();
      this.fail(mapEtcdError(err, { revision: this.lastRev }));
      return;
    }
    this.store.logger?.debug('etcd watch stream broken; resuming', {
      prefix: this.prefix,
      after: this.lastRev,
      error: err instanceof Error ? err.message : String(err),
    });
    const ms = this.retryMs;
    this.retryMs = Math.min(ms * 2, RETRY_MAX_MS);
    this.retryTimer = setTimeout(() => {
      this.retryTimer = undefined;
      void this.connect();
    }, ms);
  }

  private onReply(res: WatchReply): void {
    const headerRev = Number(res.header.revision);
    if (res.created && !res.canceled) {
      this.retryMs = RETRY_MIN_MS;
      this.reauthed = false;
    }
    if (res.created) {
      if (this.lastRev === 0) this.lastRev = headerRev;
      this.setReady(this.lastRev);
      if (!res.canceled) return;
    }
    if (res.canceled) {
      const compactRev = Number(res.compact_revision);
      // etcd cancels a watcher created with a token that expired (unused for --auth-token-ttl,
      // 5 min by default; e.g. a stream re-created after etcd was away) with "invalid auth token":
      // authenticate again and resume, once per accepted watcher.
      if (compactRev === 0 && this.store.kv.hasAuth && !this.reauthed) {
        this.reauthed = true;
        this.store.kv.forgetToken();
        const c = this.call;
        this.call = undefined;
        c?.cancel();
        c?.done.catch(() => undefined); // (canceled on purpose)
        this.retry(new GrpcError(14, `etcd canceled the watch: ${res.cancel_reason}`));
        return;
      }
      this.stop();
      if (compactRev > 0) this.fail(compacted(this.lastRev, compactRev));
      else
        this.fail(
          unavailable(`etcd canceled the watch on ${JSON.stringify(this.prefix)}: ${res.cancel_reason}`, {
            reason: 'WatchCanceled',
          }),
        );
      return;
    }
    if (res.events.length === 0) {
      // A progress notification: every event up to headerRev was sent.
      if (headerRev > this.lastRev) this.lastRev = headerRev;
      if (this.progressNotify) this.emitProgress();
      return;
    }
    const s = this.store;
    for (const ev of res.events) {
      const rev = Number(ev.kv.mod_revision);
      if (rev <= this.lastRev) continue;
      const prev = ev.prev_kv ? s.toKv(ev.prev_kv) : undefined;
      let out: WatchEvent;
      if (ev.type === 'Delete') {
        out = {
          type: 'DELETE',
          kv: {
            key: s.unk(ev.kv.key),
            value: prev?.value ?? new Uint8Array(0),
            modRevision: rev,
            createRevision: prev?.createRevision ?? 0,
          },
          prev,
        };
      } else {
        out = { type: 'PUT', kv: s.toKv(ev.kv), prev };
      }
      this.lastRev = rev;
      this.push(out);
    }
  }

  private emitProgress(): void {
    this.push({ type: 'PROGRESS', revision: this.lastRev });
  }

  private synthesizeProgress(): void {
    if (this.closed || this.lastRev === 0) return;
    this.emitProgress();
  }

  private stop(): void {
    clearInterval(this.timer);
    clearTimeout(this.retryTimer);
    this.retryTimer = undefined;
    const c = this.call;
    this.call = undefined;
    if (c) {
      c.cancel();
      // (canceled on purpose: its CANCELLED is expected)
      c.done.catch(() => undefined);
    }
  }
}
