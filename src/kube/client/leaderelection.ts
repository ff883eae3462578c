// Leader election through a coordination.k8s.io/v1 Lease, as client-go's leaderelection: a
// candidate takes the lease when it is free or its holder stopped renewing for leaseDuration,
// renews it every retryPeriod, and steps down when it cannot renew within renewDeadline (then
// campaigns again).
//
// Expiry is judged on the local clock, as client-go does (no trust in the holder's clock): a
// record seen changed is dated to the moment the read that saw it returned, which is after the
// write; the next attempt is timed for that expiry. So:
// - a live leader is never overtaken: it stops acting at most renewDeadline after its last
//   successful renewal, and nobody can take the lease before leaseDuration (> renewDeadline) after
//   having seen that renewal;
// - a dead leader is replaced at most leaseDuration + observation lag (the standby polls every
//   retryPeriod × [1, 1.2)) + one read and one write after its last renewal: worstCaseTakeoverMs.
// Defaults: lease 10 s, renew deadline 7 s, retry 2 s (upstream's are 15 s / 10 s / 2 s, up to
// ~17.4 s to take over; the issue asks for 15 s): worst case 12.4 s plus the round trips, and
// 3 s between a deposed leader stopping and the earliest takeover.
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

/** client-go's JitterFactor: waits are retryPeriod × [1, 1 + JITTER). */
export const JITTER = 0.2;
const jitter = (ms: number) => ms * (1 + Math.random() * JITTER);

export interface LeaderElectionTimings {
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
}

/** The defaults of every Skiff component that elects a leader (scheduler, controller manager, node IPAM). */
export const leaderElectionDefaults: Readonly<LeaderElectionTimings> = {
  leaseDurationMs: 10_000,
  renewDeadlineMs: 7_000,
  retryPeriodMs: 2_000,
};

/** After a leader's last renewal, the longest a standby polling the lease can take to hold it,
 *  before the round trips of its last read and its write: the lease duration counted from the
 *  standby's observation of that renewal, which comes at most one jittered retry period later. */
export const worstCaseTakeoverMs = (t: LeaderElectionTimings) => t.leaseDurationMs + t.retryPeriodMs * (1 + JITTER);

/** Throws unless the timings keep client-go's invariants: renewDeadline < leaseDuration (a leader
 *  that cannot renew stops acting before anyone may take over) and renewDeadline > retryPeriod ×
 *  1.2 (a leader gets more than one attempt to renew). */
export function checkLeaderElectionTimings(t: LeaderElectionTimings): void {
  if (!(t.retryPeriodMs > 0)) throw invalidArgument('retryPeriod must be positive');
  if (t.leaseDurationMs <= t.renewDeadlineMs) throw invalidArgument('leaseDuration must be greater than renewDeadline');
  if (t.renewDeadlineMs <= t.retryPeriodMs * (1 + JITTER))
    throw invalidArgument('renewDeadline must exceed retryPeriod × 1.2');
}

export class LeaderElector {
  private readonly leaseDuration: number;
  private readonly renewDeadline: number;
  private readonly retryPeriod: number;
  private readonly path: string;
  private observed?: { record: string; at: number };
  private lease?: Lease;
  private leading = false;
  private lastLeader = '';
  private stopAc = new AbortController();
  private done?: Promise<void>;

  constructor(
    private client: KubeClient,
    private opts: LeaderElectionOptions,
  ) {
    this.leaseDuration = opts.leaseDurationMs ?? leaderElectionDefaults.leaseDurationMs;
    this.renewDeadline = opts.renewDeadlineMs ?? leaderElectionDefaults.renewDeadlineMs;
    this.retryPeriod = opts.retryPeriodMs ?? leaderElectionDefaults.retryPeriodMs;
    checkLeaderElectionTimings({
      leaseDurationMs: this.leaseDuration,
      renewDeadlineMs: this.renewDeadline,
      retryPeriodMs: this.retryPeriod,
    });
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
      const wait = await this.tryAcquireOrRenew(stop);
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
    // As client-go's renew loop under a renewDeadline context: neither an attempt nor the wait
    // between attempts may run past lastRenew + renewDeadline; the term ends there at the latest.
    let lastRenew = Date.now();
    while (!stop.aborted) {
      await sleep(Math.min(this.retryPeriod, lastRenew + this.renewDeadline - Date.now()), stop);
      if (stop.aborted) break;
      let r = -1;
      if (Date.now() < lastRenew + this.renewDeadline) {
        // An attempt that outlives the renew deadline counts as a failure (-1).
        let timer: NodeJS.Timeout | undefined;
        r = await Promise.race([
          this.tryAcquireOrRenew(stop),
          new Promise<number>((res) => {
            timer = setTimeout(() => res(-1), Math.max(0, lastRenew + this.renewDeadline - Date.now()));
          }),
        ]);
        clearTimeout(timer);
      }
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

  /** Every lease request gives up after renewDeadline (upstream gives the leader-election client
   *  that timeout): one that never settles would otherwise stall the campaign, or stop(), for good. */
  private requestOptions(signal?: AbortSignal) {
    return { timeoutMs: this.renewDeadline, signal };
  }

  /** One attempt: 0 when this candidate holds the lease now, else ms to wait before the next. */
  private async tryAcquireOrRenew(signal?: AbortSignal): Promise<number> {
    const record = (): LeaseRecord => {
      const at = microTime();
      return {
        holderIdentity: this.opts.identity,
        leaseDurationSeconds: Math.round(this.leaseDuration / 1000),
        acquireTime: at,
        renewTime: at,
        leaseTransitions: 0,
      };
    };
    let lease: Lease;
    try {
      lease = await this.client.request<Lease>('GET', this.path, this.requestOptions(signal));
    } catch (e) {
      if (!(e instanceof SkiffError) || e.code !== 'NotFound') return this.failed(e);
      try {
        this.lease = await this.client.request<Lease>('POST', this.path.replace(/\/[^/]+$/, ''), {
          body: {
            apiVersion: 'coordination.k8s.io/v1',
            kind: 'Lease',
            metadata: { name: this.opts.name, namespace: this.opts.namespace },
            spec: record(),
          },
          ...this.requestOptions(signal),
        });
        this.observe(this.lease.spec ?? {}, Date.now());
        return 0;
      } catch (e2) {
        return this.failed(e2);
      }
    }
    // Dated when the read returned: the renewal it shows was written before that.
    const now = Date.now();
    const rec = lease.spec ?? {};
    const text = JSON.stringify(rec);
    if (!this.observed || this.observed.record !== text) this.observe(rec, now, text);
    const holder = rec.holderIdentity ?? '';
    const duration = (rec.leaseDurationSeconds ?? this.leaseDuration / 1000) * 1000;
    const expiry = this.observed!.at + duration;
    if (holder && holder !== this.opts.identity && expiry > now)
      return Math.max(1, Math.min(jitter(this.retryPeriod), expiry - now + 1));
    const mine = record();
    if (holder === this.opts.identity) {
      mine.acquireTime = rec.acquireTime ?? mine.acquireTime;
      mine.leaseTransitions = rec.leaseTransitions ?? 0;
    } else mine.leaseTransitions = (rec.leaseTransitions ?? 0) + 1;
    try {
      this.lease = await this.client.request<Lease>('PUT', this.path, {
        body: { ...lease, spec: mine },
        ...this.requestOptions(signal),
      });
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
      const cur = await this.client.request<Lease>('GET', this.path, this.requestOptions());
      if (cur.spec?.holderIdentity !== this.opts.identity) return;
      await this.client.request('PUT', this.path, {
        body: { ...cur, spec: { ...cur.spec, holderIdentity: '', leaseDurationSeconds: 1, renewTime: microTime() } },
        ...this.requestOptions(),
      });
    } catch (e) {
      this.opts.log?.debug('lease release failed', { error: e instanceof Error ? e.message : String(e) });
    }
  }
}
