// The service proxy of one node (kube-proxy's role): Services and EndpointSlices come in through
// informers; a change marks its Service dirty; a sync, shortly after, renders the dirty Services'
// rules and applies only the difference in one atomic nftables transaction. The first sync (and
// any sync after a failure) replaces the whole table in one transaction, so a restarted proxy
// never leaves a moment without rules and established connections (conntrack) carry on. Stopping
// leaves the rules in place (traffic keeps flowing while the agent restarts); `uninstall` removes
// them when the node leaves.
import { BatchedSync, type Logger } from '../../common/index.js';
import type { KubeObject } from '../api/index.js';
import { Informer, objectKey, type KubeClient } from '../client/index.js';
import { run, mustRun } from '../../network/index.js';
import { servicePorts, type ServicePort } from './model.js';
import { baseScript, diffScript, renderServicePort, type NftConfig, type Rendered } from './nft.js';
import { ensureServiceDevice, removeServiceDevice } from './device.js';
import { ElementClaims } from './claims.js';

export interface ProxierOptions {
  client: KubeClient;
  nodeName: string;
  /** Pod range of the cluster (10.42.0.0/16 by default). */
  clusterCIDR: string;
  /** Service range, routed to the dummy device. */
  serviceCIDR: string;
  /** nftables table and dummy device names (unique per instance when several run on one host). */
  table?: string;
  device?: string;
  /** Node-local Service addresses to own on the device (the cluster DNS). */
  localAddresses?: string[];
  /** Delay that gathers a burst of changes into one sync (ms, default 10). */
  batchMs?: number;
  log?: Logger;
}

const SERVICES = { group: '', version: 'v1', resource: 'services', namespaced: true };
const SLICES = { group: 'discovery.k8s.io', version: 'v1', resource: 'endpointslices', namespaced: true };

export interface SyncStats {
  syncs: number;
  fullSyncs: number;
  lastSyncMs: number;
  lastFullSyncMs: number;
  /** Of the last sync, the time `nft -f` took (process start to exit). */
  lastNftMs: number;
}

export class Proxier {
  private readonly cfg: NftConfig;
  private services?: Informer;
  private slices?: Informer;
  private sliceIndex = new Map<string, Set<string>>(); // "ns/svc" → slice keys
  private rendered = new Map<string, { ports: ServicePort[]; out: Rendered[] }>(); // "ns/svc"
  private dirty = new Set<string>();
  private claims = new ElementClaims();
  /** How many Service ports hold each shared set element (hairpin pairs); in the table when > 0. */
  private sharedCount = new Map<string, number>();
  /** Services to re-render even if unchanged (they wait for an element another one freed). */
  private forced = new Set<string>();
  private full = true;
  private readonly loop: BatchedSync;
  readonly stats: SyncStats = { syncs: 0, fullSyncs: 0, lastSyncMs: 0, lastFullSyncMs: 0, lastNftMs: 0 };
  /** Called after each sync that changed rules (tests, benchmarks). */
  onSynced?: (keys: string[]) => void;

  constructor(private readonly opts: ProxierOptions) {
    this.loop = new BatchedSync(() => this.sync(), opts.batchMs ?? 10);
    this.cfg = { table: opts.table ?? 'skiff-proxy', clusterCIDR: opts.clusterCIDR, masqueradeMark: 0x4000 };
  }

  get table(): string {
    return this.cfg.table;
  }
  get device(): string {
    return this.opts.device ?? 'skiff-svc';
  }

  async start(): Promise<void> {
    await ensureServiceDevice({
      name: this.device,
      serviceCIDR: this.opts.serviceCIDR,
      addresses: this.opts.localAddresses,
    });
    const svcKey = (o: KubeObject) => objectKey(o);
    this.services = new Informer(
      this.opts.client,
      SERVICES,
      {
        add: (o) => this.mark(svcKey(o)),
        update: (_, o) => this.mark(svcKey(o)),
        delete: (o) => this.mark(svcKey(o)),
      },
      { log: this.opts.log },
    );
    const owner = (o: KubeObject) =>
      `${o.metadata.namespace}/${o.metadata.labels?.['kubernetes.io/service-name'] ?? ''}`;
    const index = (o: KubeObject, present: boolean) => {
      const key = owner(o);
      let set = this.sliceIndex.get(key);
      if (!set) this.sliceIndex.set(key, (set = new Set()));
      if (present) set.add(objectKey(o));
      else set.delete(objectKey(o));
      this.mark(key);
    };
    this.slices = new Informer(
      this.opts.client,
      SLICES,
      {
        add: (o) => index(o, true),
        update: (old, o) => {
          if (owner(old) !== owner(o)) index(old, false);
          index(o, true);
        },
        delete: (o) => index(o, false),
      },
      { log: this.opts.log },
    );
    await Promise.all([this.services.start(), this.slices.start()]);
    this.full = true;
    await this.syncNow();
  }

  /** Stops watching; the rules stay (so traffic flows while the agent restarts). */
  async stop(): Promise<void> {
    this.services?.stop();
    this.slices?.stop();
    await this.loop.stop();
  }

  /** Removes every rule and the device (the node leaves the cluster). */
  async uninstall(): Promise<void> {
    await this.stop();
    await run('nft', ['delete', 'table', 'ip', this.cfg.table]);
    await removeServiceDevice(this.device);
  }

  private mark(key: string): void {
    this.dirty.add(key);
    this.loop.schedule();
  }

  /** Rebuilds the whole table now (what a restart does); resolves when the rules are in the kernel. */
  async fullSync(): Promise<void> {
    await this.loop.idle();
    this.full = true;
    await this.syncNow();
  }

  /** Runs a sync now (after the one in flight); resolves when the rules are in the kernel. */
  syncNow(): Promise<void> {
    return this.loop.now();
  }

  private desired(key: string): ServicePort[] {
    const svc = this.services?.get(key);
    if (!svc) return [];
    const slices = [...(this.sliceIndex.get(key) ?? [])].map((k) => this.slices?.get(k)).filter((s) => !!s);
    return servicePorts(svc, slices as KubeObject[], this.opts.nodeName);
  }

  private async sync(): Promise<void> {
    const started = performance.now();
    const full = this.full;
    const keys = full
      ? [...new Set([...this.rendered.keys(), ...(this.services?.list() ?? []).map(objectKey)])]
      : [...this.dirty];
    this.dirty.clear();
    const next = new Map<string, { ports: ServicePort[]; out: Rendered[] }>();
    const before: Rendered[] = [];
    const after: Rendered[] = [];
    const changed: string[] = [];
    const claims = full ? new ElementClaims() : this.claims;
    // Holder counts change only once the transaction is in: computed on a copy.
    const counts = full ? new Map<string, number>() : new Map(this.sharedCount);
    const touched = new Set<string>();
    const count = (rs: Rendered[], by: number) => {
      for (const e of rs.flatMap((r) => r.shared)) {
        counts.set(e, (counts.get(e) ?? 0) + by);
        touched.add(e);
      }
    };
    const requeue: string[] = [];
    for (const key of keys) {
      const ports = this.desired(key);
      const prev = this.rendered.get(key);
      if (!full && !this.forced.has(key) && prev && JSON.stringify(prev.ports) === JSON.stringify(ports)) continue;
      this.forced.delete(key);
      const out = ports.map((p) => renderServicePort(this.cfg, p));
      const held = full ? [] : (prev?.out.flatMap((r) => r.elements) ?? []);
      const { kept, freed } = claims.settle(
        key,
        held,
        out.flatMap((r) => r.elements),
      );
      if (kept.length !== out.reduce((n, r) => n + r.elements.length, 0)) {
        this.opts.log?.warn('service proxy: an address and port another Service holds is left to it', { service: key });
        const keep = new Set(kept);
        for (const r of out) r.elements = r.elements.filter((e) => keep.has(e));
      }
      requeue.push(...freed);
      next.set(key, { ports, out });
      if (prev) before.push(...prev.out);
      after.push(...out);
      if (prev && !full) count(prev.out, -1);
      count(out, +1);
      changed.push(key);
    }
    const shared = { add: [] as string[], del: [] as string[] };
    const had = (e: string) => !full && (this.sharedCount.get(e) ?? 0) > 0;
    for (const e of touched) {
      const now = counts.get(e) ?? 0;
      if (now > 0 && !had(e)) shared.add.push(e);
      else if (now <= 0 && had(e)) shared.del.push(e);
      if (now <= 0) counts.delete(e);
    }
    const t = `ip ${this.cfg.table}`;
    const script = full
      ? [`add table ${t}`, `delete table ${t}`, baseScript(this.cfg), diffScript(this.cfg, [], after, shared)].join(
          '\n',
        )
      : diffScript(this.cfg, before, after, shared);
    try {
      const nftStarted = performance.now();
      if (script.trim()) await mustRun('nft', ['-f', '-'], `${script}\n`);
      this.stats.lastNftMs = performance.now() - nftStarted;
      for (const [k, v] of next) {
        if (v.ports.length) this.rendered.set(k, v);
        else this.rendered.delete(k);
      }
      this.full = false;
      this.claims = claims;
      this.sharedCount = counts;
      for (const k of requeue) {
        this.forced.add(k);
        this.mark(k);
      }
      await this.clearStaleUdp(before, after);
    } catch (e) {
      // Rules and our record of them may now differ: rebuild everything on the next sync.
      this.opts.log?.error('service proxy: sync failed; a full sync follows', {
        error: e instanceof Error ? e.message : String(e),
      });
      this.full = true;
      for (const k of keys) this.dirty.add(k);
      this.loop.schedule(1000);
      return;
    }
    const ms = performance.now() - started;
    this.stats.syncs++;
    this.stats.lastSyncMs = ms;
    if (full) {
      this.stats.fullSyncs++;
      this.stats.lastFullSyncMs = ms;
    }
    if (changed.length) this.onSynced?.(changed);
  }

  /**
   * UDP has no connection to end: conntrack keeps sending a flow to the endpoint it first picked (or
   * to nowhere, when the Service had none). When a UDP endpoint goes away, or a UDP Service gets its
   * first endpoint, the stale entries are deleted, as kube-proxy does.
   */
  private async clearStaleUdp(before: Rendered[], after: Rendered[]): Promise<void> {
    const dnat = (r: Rendered[]) =>
      new Set(r.flatMap((x) => x.body).flatMap((l) => /meta l4proto udp dnat to (\S+):\d+$/.exec(l)?.[1] ?? []));
    const noEp = (r: Rendered[]) =>
      new Set(r.flatMap((x) => x.elements).flatMap((e) => /^no-endpoint-services\|(\S+) \. udp /.exec(e)?.[1] ?? []));
    const nowIps = dnat(after);
    const gone = [...dnat(before)].filter((ip) => !nowIps.has(ip));
    const stillNoEp = noEp(after);
    const revived = [...noEp(before)].filter((ip) => !stillNoEp.has(ip));
    for (const ip of gone) await run('conntrack', ['-D', '-p', 'udp', '--reply-src', ip]);
    for (const ip of revived) await run('conntrack', ['-D', '-p', 'udp', '--orig-dst', ip]);
  }
}
