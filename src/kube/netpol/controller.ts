// NetworkPolicy enforcement on one node (the role of k3s's embedded kube-router policy
// controller), in the shape of the service proxy: Pods, Namespaces and NetworkPolicies come in
// through informers; a change marks the policies it can affect dirty; a sync, shortly after,
// recompiles those, and applies the difference against what the kernel holds in one atomic
// `nft -f` transaction — a Pod that comes or goes is a few set elements, a changed policy its own
// chains and sets. The first sync (and any after a failure) replaces the whole table atomically;
// established connections carry on through it (conntrack). Stopping leaves the rules (pods stay
// protected while the agent restarts); `uninstall` removes the table.
import { readFile, writeFile } from 'node:fs/promises';
import { BatchedSync, type Logger } from '../../common/index.js';
import type { KubeObject } from '../api/index.js';
import { Informer, objectKey, type KubeClient } from '../client/index.js';
import { run, mustRun } from '../../network/index.js';
import {
  compilePolicy,
  crossNamespace,
  podInfo,
  slimPod,
  type ClusterView,
  type CompiledPolicy,
  type PodInfo,
} from './model.js';
import { baseScript, diffScript, emptyState, tableState, type TableState } from './nft.js';

export interface NetworkPolicyOptions {
  client: KubeClient;
  /** The node whose pods this instance protects (pods' spec.nodeName). */
  nodeName: string;
  /** nftables table (family ip); unique per instance when several run on one host. */
  table?: string;
  /** Delay that gathers a burst of changes into one sync (ms, default 10). */
  batchMs?: number;
  log?: Logger;
}

const PODS = { group: '', version: 'v1', resource: 'pods', namespaced: true };
const NAMESPACES = { group: '', version: 'v1', resource: 'namespaces', namespaced: false };
const POLICIES = { group: 'networking.k8s.io', version: 'v1', resource: 'networkpolicies', namespaced: true };
const BRIDGE_NF = '/proc/sys/net/bridge/bridge-nf-call-iptables';

export class NetworkPolicyController {
  readonly table: string;
  private pods?: Informer;
  private namespaces?: Informer;
  private policies?: Informer;
  private podInfos = new Map<string, PodInfo>();
  private compiled = new Map<string, CompiledPolicy>();
  private applied: TableState = emptyState();
  private dirty = new Set<string>();
  private full = true;
  private readonly loop: BatchedSync;
  readonly stats = { syncs: 0, fullSyncs: 0, lastSyncMs: 0 };
  /** Called after each sync that changed the kernel's rules (tests). */
  onSynced?: () => void;

  constructor(private readonly opts: NetworkPolicyOptions) {
    this.loop = new BatchedSync(() => this.sync(), opts.batchMs ?? 10);
    this.table = opts.table ?? 'skiff-netpol';
  }

  async start(): Promise<void> {
    await this.bridgeFiltering();
    const policyKeys = () => (this.policies?.list() ?? []).map(objectKey);
    const affected = (namespace: string) => {
      for (const np of this.policies?.list() ?? [])
        if (np.metadata.namespace === namespace || crossNamespace(spec(np))) this.mark(objectKey(np));
    };
    const podChanged = (o: KubeObject, present: boolean) => {
      const key = objectKey(o);
      const before = this.podInfos.get(key);
      const now = present ? podInfo(o) : undefined;
      if (JSON.stringify(before) === JSON.stringify(now)) return;
      if (now) this.podInfos.set(key, now);
      else this.podInfos.delete(key);
      affected(o.metadata.namespace ?? 'default');
    };
    this.pods = new Informer(
      this.opts.client,
      PODS,
      { add: (o) => podChanged(o, true), update: (_, o) => podChanged(o, true), delete: (o) => podChanged(o, false) },
      { log: this.opts.log, transform: slimPod },
    );
    const nsChanged = (old: KubeObject | undefined, o: KubeObject | undefined) => {
      if (JSON.stringify(old?.metadata.labels ?? null) === JSON.stringify(o?.metadata.labels ?? null)) return;
      for (const np of this.policies?.list() ?? []) if (crossNamespace(spec(np))) this.mark(objectKey(np));
    };
    this.namespaces = new Informer(
      this.opts.client,
      NAMESPACES,
      { add: (o) => nsChanged(undefined, o), update: nsChanged, delete: (o) => nsChanged(o, undefined) },
      { log: this.opts.log },
    );
    this.policies = new Informer(
      this.opts.client,
      POLICIES,
      {
        add: (o) => this.mark(objectKey(o)),
        update: (_, o) => this.mark(objectKey(o)),
        delete: (o) => this.mark(objectKey(o)),
      },
      { log: this.opts.log },
    );
    await Promise.all([this.pods.start(), this.namespaces.start(), this.policies.start()]);
    for (const k of policyKeys()) this.dirty.add(k);
    this.full = true;
    await this.syncNow();
  }

  /** Stops watching; the rules stay. */
  async stop(): Promise<void> {
    this.pods?.stop();
    this.namespaces?.stop();
    this.policies?.stop();
    await this.loop.stop();
  }

  /** Removes the table (the node leaves the cluster). */
  async uninstall(): Promise<void> {
    await this.stop();
    await run('nft', ['delete', 'table', 'ip', this.table]);
  }

  /**
   * Pods of one node share a Linux bridge: frames between two of them reach the forward hook only
   * with br_netfilter's bridge-nf-call-iptables on (as kube-router and flannel require).
   */
  private async bridgeFiltering(): Promise<void> {
    // absent when br_netfilter is not loaded: handled as unset below
    const cur = await readFile(BRIDGE_NF, 'utf8').catch(() => undefined);
    if (cur === undefined) {
      this.opts.log?.warn(
        'network policy: br_netfilter is missing; traffic between pods of one bridge is not filtered',
      );
    } else if (cur.trim() !== '1') {
      await writeFile(BRIDGE_NF, '1\n');
    }
  }

  private mark(key: string): void {
    this.dirty.add(key);
    this.loop.schedule();
  }

  /** Runs a sync now (after the one in flight); resolves when the rules are in the kernel. */
  syncNow(): Promise<void> {
    return this.loop.now();
  }

  private view(): ClusterView {
    return {
      nodeName: this.opts.nodeName,
      pods: [...this.podInfos.values()],
      namespaceLabels: (name) => this.namespaces?.get(name)?.metadata.labels ?? (this.namespaces?.get(name) && {}),
    };
  }

  private async sync(): Promise<void> {
    const started = performance.now();
    const full = this.full;
    const keys = [...this.dirty];
    this.dirty.clear();
    const view = this.view();
    const compiled = new Map(this.compiled);
    for (const key of keys) {
      const np = this.policies?.get(key);
      if (!np) {
        compiled.delete(key);
        continue;
      }
      try {
        compiled.set(key, compilePolicy(np, view));
      } catch (e) {
        // An invalid selector (the API server validates, so only from an older store): the policy
        // is skipped, as upstream's controllers do, and said once per change.
        this.opts.log?.warn('network policy: skipped', { policy: key, error: String(e) });
        compiled.delete(key);
      }
    }
    const state = tableState([...compiled.values()]);
    const t = `ip ${this.table}`;
    const script = full
      ? [
          `add table ${t}`,
          `delete table ${t}`,
          baseScript(this.table),
          diffScript(this.table, emptyState(), state),
        ].join('\n')
      : diffScript(this.table, this.applied, state);
    try {
      if (script.trim()) await mustRun('nft', ['-f', '-'], `${script}\n`);
      this.compiled = compiled;
      this.applied = state;
      this.full = false;
    } catch (e) {
      this.opts.log?.error('network policy: sync failed; a full sync follows', {
        error: e instanceof Error ? e.message : String(e),
      });
      this.full = true;
      for (const k of keys) this.dirty.add(k);
      this.loop.schedule(1000);
      return;
    }
    this.stats.syncs++;
    if (full) this.stats.fullSyncs++;
    this.stats.lastSyncMs = performance.now() - started;
    if (script.trim()) this.onSynced?.();
  }
}

const spec = (np: KubeObject) => (np as { spec?: Parameters<typeof crossNamespace>[0] }).spec ?? {};

/** Starts enforcement for `nodeName`'s pods; `stop()` keeps the rules, `uninstall()` removes them. */
export async function startNetworkPolicy(
  client: KubeClient,
  o: Omit<NetworkPolicyOptions, 'client'>,
): Promise<NetworkPolicyController> {
  const c = new NetworkPolicyController({ client, ...o });
  await c.start();
  return c;
}
