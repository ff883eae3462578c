// The etcd v3 store (real etcd, HA): every write is one etcd transaction guarded by a compare
// on the key's create/mod revision, so optimistic concurrency is etcd's own; revisions are etcd's
// cluster revisions; lists are ranges at a fixed revision; watches are etcd watches (prev_kv on).
import type { IKeyValue, IRangeRequest } from 'etcd3';
import type { KeyValue, ListOptions, ListResult, Store, Watch } from '../types.js';
import { decodeContinue, encodeContinue, keyAfter, prefixEnd } from '../continue.js';
import { checkKey, checkRevision, futureRevision, keyExists, keyNotFound, revisionConflict } from '../errors.js';
import { invalidArgument, isSkiffError, unavailable, type Logger, sleep } from '../../../common/index.js';
import { mapEtcdError } from './errors.js';
import { EtcdWatch } from './watch.js';
import { HubSub, WatchHub } from './hub.js';
import { Compactor, type CompactorOptions } from '../compactor.js';
import { RecentValues } from './recent.js';
import type { EtcdKv } from './kv.js';

export interface EtcdStoreOptions extends CompactorOptions {
  prefix?: string;
  progressIntervalMs?: number;
  watchBufferLimit?: number;
  /** Share one etcd watch per prefix between Store watches (default true); false = one etcd watch each. */
  sharedWatch?: boolean;
  logger?: Logger;
}

const EMPTY = new Uint8Array(0);
const RANGE_CHUNK = 1000;

export class EtcdStore implements Store {
  readonly prefix: string;
  private closed = false;
  private readonly watches = new Set<EtcdWatch | HubSub>();
  private readonly hubs = new Map<string, WatchHub>();
  private readonly bufferLimit: number;
  private readonly shared: boolean;
  private readonly compactor: Compactor;
  readonly progressIntervalMs: number;
  /** The highest revision this store compacted etcd to (other servers may have compacted further). */
  compactedTo = 0;
  /** The last value seen for each key (getRecent). */
  readonly recent = new RecentValues();

  readonly logger?: Logger;

  /** kv: the etcd client of every call and watch (kv.ts says why not a library's). */
  constructor(
    readonly kv: EtcdKv,
    opts: EtcdStoreOptions = {},
  ) {
    this.logger = opts.logger;
    this.prefix = opts.prefix ?? '';
    this.progressIntervalMs = opts.progressIntervalMs ?? 10_000;
    this.bufferLimit = opts.watchBufferLimit ?? 10_000;
    this.shared = opts.sharedWatch ?? true;
    this.compactor = new Compactor(this, opts, (e) =>
      opts.logger?.warn('storage: automatic etcd compaction failed', { error: String(e) }),
    );
  }

  /** The key as stored in etcd (with the prefix), and back. */
  k(key: string): Buffer {
    return Buffer.from(this.prefix + key);
  }
  unk(b: Buffer): string {
    return b.toString('utf8').slice(this.prefix.length);
  }
  /** The first key of a range (etcd refuses an empty key; \0 is the smallest). */
  rangeStart(key: string): Buffer {
    return this.prefix + key === '' ? Buffer.from([0]) : this.k(key);
  }
  /** etcd's range_end for every key under `prefix` (with the store prefix); \0 = to the end. */
  rangeEnd(prefix: string): Buffer {
    const end = prefixEnd(this.prefix + prefix);
    return end === undefined ? Buffer.from([0]) : Buffer.from(end);
  }

  toKv(kv: IKeyValue): KeyValue {
    return {
      key: this.unk(kv.key),
      value: kv.value ?? EMPTY,
      modRevision: Number(kv.mod_revision),
      createRevision: Number(kv.create_revision),
    };
  }

  private open(): void {
    if (this.closed) throw unavailable('store is closed', { reason: 'StoreClosed' });
  }

  /** Reads are idempotent: retried on Unavailable (a leader change, a host going away). */
  async read<T>(fn: () => Promise<T>, ctx: { revision?: number } = {}): Promise<T> {
    this.open();
    for (let attempt = 0; ; attempt++) {
      try {
        return await fn();
      } catch (e) {
        const err = mapEtcdError(e, ctx);
        if (err.code !== 'Unavailable' || attempt >= 3 || this.closed) throw err;
        await sleep(100 * 3 ** attempt);
      }
    }
  }

  /** Writes are not retried: the outcome of a lost reply is unknown, the caller decides. */
  private async write<T>(fn: () => Promise<T>): Promise<T> {
    this.open();
    try {
      return await fn();
    } catch (e) {
      throw mapEtcdError(e);
    }
  }

  async get(key: string): Promise<KeyValue | undefined> {
    checkKey(key);
    const r = await this.read(() => this.kv.range({ key: this.k(key) }));
    return this.remember(key, r);
  }

  private remember(key: string, r: { kvs: IKeyValue[]; header: { revision: string } }): KeyValue | undefined {
    if (!r.kvs.length) {
      this.recent.forget(key, Number(r.header.revision));
      return undefined;
    }
    const kv = this.toKv(r.kvs[0]);
    this.recent.put(kv);
    return kv;
  }

  async getRecent(key: string): Promise<KeyValue | undefined> {
    checkKey(key);
    const kv = this.recent.get(key);
    if (kv) return kv;
    // A serializable read: the member's applied state, without the quorum round (and, on etcd 3.4,
    // without queueing behind every write in flight as a linearizable read does).
    const r = await this.read(() => this.kv.range({ key: this.k(key), serializable: true }));
    return this.remember(key, r);
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    if (typeof prefix !== 'string') throw invalidArgument('prefix must be a string', { field: 'prefix' });
    const limit = checkRevision('limit', opts.limit);
    let rev = checkRevision('revision', opts.revision);
    let start = prefix;
    if (opts.continue) {
      const c = decodeContinue(opts.continue, prefix);
      if (rev !== 0 && rev !== c.revision) {
        throw invalidArgument(`revision ${rev} differs from the continue token's revision ${c.revision}`, {
          field: 'revision',
        });
      }
      rev = c.revision;
      start = c.startKey;
    }
    // Read in chunks of at most RANGE_CHUNK keys, all at the revision of the first chunk, so no
    // single etcd reply grows without bound (a 10 000-object list is ~10 MB).
    const result: ListResult = { items: [], revision: rev };
    let more = true;
    let count = 0;
    while (more && (!limit || result.items.length < limit)) {
      const want = limit ? Math.min(RANGE_CHUNK, limit - result.items.length) : RANGE_CHUNK;
      const req: IRangeRequest = { key: this.rangeStart(start), range_end: this.rangeEnd(prefix), limit: want };
      if (result.revision) req.revision = result.revision;
      const r = await this.read(() => this.kv.range(req), { revision: result.revision });
      if (!result.revision) result.revision = Number(r.header.revision);
      for (const kv of r.kvs) result.items.push(this.toKv(kv));
      more = r.more && r.kvs.length > 0;
      count = Number(r.count) - r.kvs.length; // keys after this chunk
      if (r.kvs.length) start = keyAfter(result.items[result.items.length - 1].key);
    }
    if (limit && more && result.items.length) {
      result.continue = encodeContinue(result.revision, start);
      result.remaining = count;
    }
    return result;
  }

  async count(prefix: string): Promise<number> {
    const r = await this.read(() =>
      this.kv.range({ key: this.rangeStart(prefix), range_end: this.rangeEnd(prefix), count_only: true }),
    );
    return Number(r.count);
  }

  async create(key: string, value: Uint8Array): Promise<KeyValue> {
    checkKey(key);
    if (!(value instanceof Uint8Array)) throw invalidArgument('value must be a Uint8Array', { field: 'value' });
    const k = this.k(key);
    const r = await this.write(() =>
      this.kv.txn({
        compare: [{ key: k, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key: k, value: Buffer.from(value.buffer, value.byteOffset, value.byteLength) } }],
      }),
    );
    if (!r.succeeded) throw keyExists(key);
    const rev = Number(r.header.revision);
    const kv = { key, value, modRevision: rev, createRevision: rev };
    this.recent.put(kv);
    return kv;
  }

  /**
   * One guarded transaction: on failure, reads the key to tell NotFound from Conflict. `known` is
   * the key's create revision when the caller knows it for exactly `expected`: etcd then puts
   * without prev_kv (kube-apiserver's update shape), so it neither reads the old value inside the
   * transaction nor sends it back; `prev` is then undefined.
   */
  private async guarded(
    key: string,
    expected: number,
    op: 'put' | 'delete',
    value?: Uint8Array,
    known?: number,
  ): Promise<{ rev: number; prev?: IKeyValue }> {
    checkKey(key);
    expected = checkRevision('expectedRevision', expected);
    const k = this.k(key);
    const prevKv = known === undefined;
    const compare =
      expected === 0
        ? { key: k, target: 'Create' as const, result: 'Greater' as const, create_revision: 0 }
        : { key: k, target: 'Mod' as const, result: 'Equal' as const, mod_revision: expected };
    const success =
      op === 'put'
        ? [
            {
              request_put: {
                key: k,
                value: Buffer.from(value!.buffer, value!.byteOffset, value!.byteLength),
                prev_kv: prevKv,
              },
            },
          ]
        : [{ request_delete_range: { key: k, prev_kv: true } }];
    const r = await this.write(() =>
      this.kv.txn({ compare: [compare], success, failure: [{ request_range: { key: k } }] }),
    );
    if (!r.succeeded) {
      // (the failure branch read the current value: remembered, so a retry starts from it)
      const cur = r.responses[0]?.response_range?.kvs ?? [];
      if (this.remember(key, { kvs: cur, header: r.header }) === undefined) throw keyNotFound(key);
      throw revisionConflict(key, expected, Number(cur[0].mod_revision));
    }
    const res = r.responses[0];
    if (!prevKv) return { rev: Number(r.header.revision) };
    const prev = op === 'put' ? res?.response_put?.prev_kv : res?.response_delete_range?.prev_kvs[0];
    // (the compare required the key to exist, so etcd returns its previous value)
    if (!prev) throw unavailable(`etcd answered the ${op} of ${key} without its previous value`);
    return { rev: Number(r.header.revision), prev };
  }

  async update(key: string, value: Uint8Array, expectedRevision: number): Promise<KeyValue> {
    if (!(value instanceof Uint8Array)) throw invalidArgument('value must be a Uint8Array', { field: 'value' });
    // A key's revision belongs to one generation: the copy remembered at exactly the expected
    // revision (the base the API server read, as a rule) gives the create revision, so etcd need not
    // send the previous value back (nor read it inside the transaction).
    const base = expectedRevision ? this.recent.get(key) : undefined;
    const known = base && base.modRevision === expectedRevision ? base.createRevision : undefined;
    const { rev, prev } = await this.guarded(key, expectedRevision, 'put', value, known);
    const kv = { key, value, modRevision: rev, createRevision: known ?? Number(prev!.create_revision) };
    this.recent.put(kv);
    return kv;
  }

  async delete(key: string, expectedRevision: number): Promise<KeyValue> {
    const { rev, prev } = await this.guarded(key, expectedRevision, 'delete');
    this.recent.forget(key, rev);
    return { key, value: prev!.value ?? EMPTY, modRevision: rev, createRevision: Number(prev!.create_revision) };
  }

  watch(prefix: string, fromRevision: number, opts: { signal?: AbortSignal; progressNotify?: boolean } = {}): Watch {
    let hub: WatchHub | undefined;
    const w: EtcdWatch | HubSub = this.shared
      ? new HubSub(opts.progressNotify ?? false, this.bufferLimit, (sub) => {
          hub?.remove(sub);
          this.watches.delete(sub);
        })
      : new EtcdWatch(this, prefix, opts.progressNotify ?? false, () => this.watches.delete(w));
    try {
      this.open();
      if (typeof prefix !== 'string') throw invalidArgument('prefix must be a string', { field: 'prefix' });
      const from = checkRevision('fromRevision', fromRevision);
      this.watches.add(w);
      if (w instanceof HubSub) {
        hub = this.hubs.get(prefix);
        if (!hub || hub.failed) {
          const h: WatchHub = new WatchHub(this, prefix, () => {
            if (this.hubs.get(prefix) === h) this.hubs.delete(prefix);
          });
          this.hubs.set(prefix, h);
          hub = h;
        }
        hub.add(w, from);
      } else {
        void w.start(from);
      }
      if (opts.signal) {
        if (opts.signal.aborted) w.close();
        else opts.signal.addEventListener('abort', () => w.close(), { once: true });
      }
    } catch (e) {
      w.fail(isSkiffError(e) ? e : mapEtcdError(e));
    }
    return w;
  }

  async currentRevision(): Promise<number> {
    const r = await this.read(() => this.kv.range({ key: Buffer.from([0]), count_only: true }));
    return Number(r.header.revision);
  }

  async compact(revision: number): Promise<void> {
    const rev = checkRevision('revision', revision);
    try {
      await this.write(() => this.kv.compact({ revision: rev, physical: false }));
      if (rev > this.compactedTo) this.compactedTo = rev;
    } catch (e) {
      if (isSkiffError(e) && e.reason === 'Compacted') return; // at or below the compact revision: nothing to do
      if (isSkiffError(e) && e.reason === 'FutureRevision') throw futureRevision(rev, await this.currentRevision());
      throw e;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.compactor.stop();
    for (const w of [...this.watches]) w.close();
    for (const h of [...this.hubs.values()]) h.close();
    this.hubs.clear();
    this.kv.close();
  }
}
