// One Store watch over one etcd watch (prev_kv on). The etcd3 client reconnects a broken watch
// stream by itself, re-sending the watcher's create request, whose start_revision it sets to the
// last response's *header* revision + 1. That header is etcd's current revision, not the last one
// sent: a watcher catching up gets at most 1000 revisions per response (one per 100 ms), so a
// stream broken between two of them resumed past the unsent ones and skipped them. The library
// has no option for this, but the request it re-sends is the watcher's public `request`: after
// each of its own updates (its listeners run before ours) and on 'disconnected', start_revision
// is set back to the last revision delivered here + 1 (the start revision before any event). If
// that is compacted meanwhile, etcd cancels the re-created watch and onCancel reports Compacted.
// Events at or below the last revision delivered are still dropped, so nothing is doubled.
// etcd3's watch API and compaction: when the start revision is compacted, etcd answers with a
// canceled response carrying compact_revision, which the client turns into a bare 'error'
// ("Watcher canceled: ") without the revision. So: the revision is checked with a range read
// before watching, and after any cancel the same check decides Compacted vs Unavailable.
// Progress: etcd sends progress notifications (empty responses with the current revision) at
// its --experimental-watch-progress-notify-interval (default 10 min); between those, a PROGRESS
// is synthesized from the newest header revision seen, which is a safe (if older) bookmark.
import type { IWatchResponse, Watcher } from 'etcd3';
import type { WatchEvent } from '../types.js';
import { EventQueue } from '../queue.js';
import type { EtcdStore } from './store.js';
import { mapEtcdError } from './errors.js';
import { unavailable } from '../../../common/index.js';

export class EtcdWatch extends EventQueue {
  private watcher?: Watcher;
  /** Every event up to lastRev has been queued. */
  private lastRev = 0;
  private lastProgress = 0;
  private timer?: NodeJS.Timeout;

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
      const b = s.client
        .watch()
        .inRange({ start: s.rangeStart(this.prefix), end: s.rangeEnd(this.prefix) })
        .withPreviousKV();
      if (from > 0) b.startRevision(String(from + 1));
      // watcher() attaches at once; handlers go on before any response can arrive (create() would
      // resolve a microtask after 'connected', when a first 'data' may already have been emitted).
      const w = b.watcher();
      this.watcher = w;
      w.on('connected', (res: IWatchResponse) => {
        if (this.lastRev === 0) this.lastRev = Number(res.header.revision);
        this.pinResume(w);
        this.setReady(this.lastRev);
      });
      w.on('data', (res: IWatchResponse) => {
        this.onData(res);
        this.pinResume(w);
      });
      w.on('disconnected', () => this.pinResume(w));
      w.on('error', (err: Error) => void this.onCancel(err));
      if (this.closed) {
        this.stop();
        return;
      }
      if (this.progressNotify) {
        this.timer = setInterval(() => this.synthesizeProgress(), s.progressIntervalMs);
        this.timer.unref();
      }
    } catch (e) {
      this.fail(mapEtcdError(e, { revision: from }));
    }
  }

  private onData(res: IWatchResponse): void {
    const s = this.store;
    const headerRev = Number(res.header.revision);
    if (res.events.length === 0) {
      // A progress notification: every event up to headerRev was sent.
      if (headerRev > this.lastRev) this.lastRev = headerRev;
      if (this.progressNotify) this.emitProgress();
      return;
    }
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
    // The header revision of a response with events is no promise that every event up to it was
    // sent: a watcher catching up (from a past revision, or fallen behind under load) gets at most
    // 1000 revisions per response with the store's current revision in the header, and the rest
    // in later responses. Taking the header as lastRev dropped those (the scheduler benchmark on
    // etcd lost ~1000 pod events that way). Only an empty response (progress) vouches for it.
  }

  /** Where the library resumes this watch after a broken stream: right after the last event delivered. */
  private pinResume(w: Watcher): void {
    // lastRev 0: a watch "from now" that etcd has not attached yet, which resumes "from now" too.
    if (this.lastRev > 0) w.request.start_revision = String(this.lastRev + 1);
  }

  private emitProgress(): void {
    if (this.lastRev > this.lastProgress) {
      this.lastProgress = this.lastRev;
    }
    this.push({ type: 'PROGRESS', revision: this.lastRev });
  }

  private synthesizeProgress(): void {
    if (this.closed || this.lastRev === 0) return;
    this.emitProgress();
  }

  private async onCancel(err: Error): Promise<void> {
    if (this.closed) return;
    const s = this.store;
    this.stop();
    try {
      await s.read(() => s.kv.range({ key: s.rangeStart(this.prefix), count_only: true, revision: this.lastRev }), {
        revision: this.lastRev,
      });
      this.fail(
        unavailable(`etcd canceled the watch on ${JSON.stringify(this.prefix)}: ${err.message}`, {
          cause: err,
          reason: 'WatchCanceled',
        }),
      );
    } catch (e) {
      this.fail(mapEtcdError(e, { revision: this.lastRev }));
    }
  }

  private stop(): void {
    clearInterval(this.timer);
    const w = this.watcher;
    this.watcher = undefined;
    // closing: the watch stream may already be closed by etcd or a reconnect
    if (w) void w.cancel().catch(() => undefined);
  }
}
