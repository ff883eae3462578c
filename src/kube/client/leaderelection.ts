// Leader election through a coordination.k8s.io/v1 Lease, as client-go's leaderelection: a
// candidate takes the lease when it is free or its holder stopped renewing for leaseDuration,
// renews it every retryPeriod, and steps down when it cannot renew within renewDeadline (then
// campaigns again). Defaults are upstream's: 15 s, 10 s, 2 s.
//
// Expiry is judged on the local clock, as client-go does (no trust in the holder's clock): a
// renewal seen on this poll happened after the previous poll, so the lease is taken as renewed
// at the previous poll; the next attempt is timed for that expiry. A dead leader is replaced at
// most leaseDuration (plus a round trip) after its last renewal, and a live leader, which steps
// down after renewDeadline (< leaseDuration − retryPeriod), is never overtaken.
import type { Logger } from '../../common/index.js';
import { SkiffError, sleep, invalidArgument } from '../../common/index.js';
import type { KubeClient } from './rest.js';

export interface LeaderElectionOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Runs while this candidate leads; the signal aborts when leadership ends. */
  onStartedLeading(signal: AbortSignal): void | Promise<void>;
  onStoppedLeading?(): void;
  onNewLeader?(identity: string): void;
  /** On stop(), give the lease up at once (holder cleared) so another candidate need not wait. */
  releaseOnCancel?: boolean;
  log?: Logger;
}

interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

interface Lease {
  apiVersion?: string;
  kind?: string;
  metadata: { name: string; namespace: string; resourceVersion?: string };
  spec?: LeaseRecord;
}

/** MicroTime as the API writes it: RFC 3339 with microseconds. */
export const microTime = (d = new Date()) => d.toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');

const jitter = (ms: number) => ms * (1 + Math.random() * 0.2);

export class LeaderElector {
  private readonly leaseDuration: number;
  private readonly renewDeadline: number;
  private readonly retryPeriod: number;
  private readonly path: string;
  private observed?: { record: string; at: number };
  private lastPoll = 0;
  private lease?: Lease;
  private leading = false;
  private lastLeader = '';
  private stopAc = new AbortController();
  private done?: Promise<void>;

  constructor(
    private client: KubeClient,
    private opts: LeaderElectionOptions,
  ) {
    this.leaseDuration = opts.leaseDurationMs ?? 15_000;
    this.renewDeadline = opts.renewDeadlineMs ?? 10_000;
    this.retryPeriod = opts.retryPeriodMs ?? 2_000;
    if (this.leaseDuration <= this.renewDeadline)
      throw invalidArgument('leaseDuration must be greater than renewDeadline');
    if (this.renewDeadline <= this.retryPeriod * 1.2)
      throw invalidArgument('renewDeadline must exceed retryPeriod × 1.2');
    this.path = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(opts.namespace)}/leases/${encodeURIComponent(opts.name)}`;
  }

  get isLeader(): boolean {
    return this.leading;
  }
  /** The holder last seen (this candidate's identity while it leads). */
  get leader(): string {
    return this.lastLeader;
  }

  /** Campaigns until stop(): acquire, lead while renewing, on loss campaign again. */
  start(): void {
    this.done ??= this.loop();
  }

  async stop(): Promise<void> {
    this.stopAc.abort();
    await this.done;
  }

  private async loop(): Promise<void> {
    const stop = this.stopAc.signal;
    while (!stop.aborted) {
      const wait = await this.tryAcquireOrRenew();
      if (wait !== 0) {
        await sleep(wait, stop);
        continue;
      }
      await this.lead(stop);
    }
  }

  private async lead(stop: AbortSignal): Promise<void> {
    const ac = new AbortController();
    this.leading = true;
    this.opts.log?.info('became leader', {
      lease: `${this.opts.namespace}/${this.opts.name}`,
      identity: this.opts.identity,
    });
    const onStop = () => ac.abort();
    stop.addEventListener('abort', onStop, { once: true });
    void Promise.resolve()
      .then(() => this.opts.onStartedLeading(ac.signal))
      .catch((e) =>
        this.opts.log?.error('leader callback failed', { error: e instanceof Error ? e.message : String(e) }),
      );
    let lastRenew = Date.now();
    while (!stop.aborted) {
      await sleep(this.retryPeriod, stop);
      if (stop.aborted) break;
      // An attempt that outlives the renew deadline counts as a failure (-1).
      let timer: NodeJS.Timeout | undefined;
      const r = await Promise.race([
        this.tryAcquireOrRenew(),
        new Promise<number>((res) => {
          timer = setTimeout(() => res(-1), Math.max(0, lastRenew + this.renewDeadline - Date.now()));
        }),
      ]);
      clearTimeout(timer);
      if (r === 0) {
        lastRenew = Date.now();
        continue;
      }
      const lost = r === -1 || Date.now() - lastRenew >= this.renewDeadline || this.lastLeader !== this.opts.identity;
      if (lost) {
        this.opts.log?.warn('leadership lost', {
          lease: `${this.opts.namespace}/${this.opts.name}`,
          holder: this.lastLeader,
        });
        break;
      }
    }
    stop.removeEventListener('abort', onStop);
    ac.abort();
    this.leading = false;
    if (stop.aborted && this.opts.releaseOnCancel) await this.release();
    this.opts.onStoppedLeading?.();
  }

  /** One attempt: 0 when this candidate holds the lease now, else ms to wait before the next. */
  private async tryAcquireOrRenew(): Promise<number> {
    const now = Date.now();
    const prevPoll = this.lastPoll || now;
    this.lastPoll = now;
    const mine: LeaseRecord = {
      holderIdentity: this.opts.identity,
      leaseDurationSeconds: Math.round(this.leaseDuration / 1000),
      acquireTime: microTime(new Date(now)),
      renewTime: microTime(new Date(now)),
      leaseTransitions: 0,
    };
    let lease: Lease;
    try {
      lease = await this.client.request<Lease>('GET', this.path);
    } catch (e) {
      if (!(e instanceof SkiffError) || e.code !== 'NotFound') return this.failed(e);
      try {
        this.lease = await this.client.request<Lease>('POST', this.path.replace(/\/[^/]+$/, ''), {
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.opts.name, namespace: this.opts.namespace },
            spec: mine,
          },
        });
        this.observe(this.lease.spec ?? {}, now);
        return 0;
      } catch (e2) {
        return this.failed(e2);
      }
    }
    const rec = lease.spec ?? {};
    const text = JSON.stringify(rec);
    if (!this.observed || this.observed.record !== text) this.observe(rec, this.observed ? prevPoll : now, text);
    const holder = rec.holderIdentity ?? '';
    const duration = (rec.leaseDurationSeconds ?? this.leaseDuration / 1000) * 1000;
    const expiry = this.observed!.at + duration;
    if (holder && holder !== this.opts.identity && expiry > now)
      return Math.max(1, Math.min(jitter(this.retryPeriod), expiry - now + 1));
    if (holder === this.opts.identity) {
      mine.acquireTime = rec.acquireTime ?? mine.acquireTime;
      mine.leaseTransitions = rec.leaseTransitions ?? 0;
    } else mine.leaseTransitions = (rec.leaseTransitions ?? 0) + 1;
    try {
      this.lease = await this.client.request<Lease>('PUT', this.path, { body: { ...lease, spec: mine } });
      this.observe(this.lease.spec ?? mine, Date.now());
      return 0;
    } catch (e) {
      return this.failed(e);
    }
  }

  private observe(rec: LeaseRecord, at: number, text = JSON.stringify(rec)): void {
    this.observed = { record: text, at };
    const holder = rec.holderIdentity ?? '';
    if (holder !== this.lastLeader) {
      this.lastLeader = holder;
      if (holder) this.opts.onNewLeader?.(holder);
    }
  }

  private failed(e: unknown): number {
    this.opts.log?.debug('lease attempt failed', { error: e instanceof Error ? e.message : String(e) });
    return jitter(this.retryPeriod);
  }

  private async release(): Promise<void> {
    if (!this.lease) return;
    try {
      const cur = await this.client.request<Lease>('GET', this.path);
      if (cur.spec?.holderIdentity !== this.opts.identity) return;
      await this.client.request('PUT', this.path, {
        body: { ...cur, spec: { ...cur.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime() } },
      });
    } catch (e) {
      this.opts.log?.debug('lease release failed', { error: e instanceof Error ? e.message : String(e) });
    }
  }
}
