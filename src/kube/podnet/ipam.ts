// Node IPAM (kube-controller-manager's nodeipam with --allocate-node-cidrs, range allocator): each
// Node without spec.podCIDR gets the next free /24 (--node-cidr-mask-size) of the cluster CIDR
// (default 10.42.0.0/16, k3s's). A CIDR a Node already has is taken; a deleted Node's returns.
// One allocator per cluster: it runs behind leader election (kube-system/skiff-node-ipam), and
// writes with the Node's resourceVersion, so a lost race is a conflict, never two owners.
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { isSkiffError, type Logger, invalidArgument } from '../../common/index.js';
import { Informer, LeaderElector, type KubeClient } from '../client/index.js';
import { formatCidr, parseCidr } from '../../network/index.js';

export const NODE_REF = { group: '', version: 'v1', resource: 'nodes', kind: 'Node', namespaced: false };
export const DEFAULT_CLUSTER_CIDR = '10.42.0.0/16';

export interface NodeLike {
  metadata: { name?: string; resourceVersion?: string; annotations?: Record<string, string> };
  spec?: { podCIDR?: string; podCIDRs?: string[] };
  status?: { addresses?: { type: string; address: string }[] };
}

export interface IpamOptions {
  clusterCIDR?: string;
  /** Prefix of each node's range (default 24). */
  nodeMaskSize?: number;
  /** Leader election (default on; off for a single allocator in tests). */
  leaderElection?: boolean;
  log?: Logger;
}

/** The allocator's arithmetic: subnets of `cluster` by `mask`, the lowest free first. */
export class CidrSet {
  private readonly base: number;
  private readonly count: number;
  private readonly step: number;
  private used = new Set<number>();
  constructor(
    cluster: string,
    readonly mask: number,
  ) {
    const c = parseCidr(cluster, 'cluster-cidr');
    if (mask < c.prefix || mask > 30) throw invalidArgument(`node mask /${mask} does not fit in ${cluster}`);
    this.base = c.base;
    this.step = 2 ** (32 - mask);
    this.count = 2 ** (mask - c.prefix);
  }
  private index(cidr: string): number | undefined {
    try {
      const c = parseCidr(cidr, 'podCIDR');
      const i = (c.base - this.base) / this.step;
      return c.prefix === this.mask && Number.isInteger(i) && i >= 0 && i < this.count ? i : undefined;
    } catch {
      return undefined;
    }
  }
  occupy(cidr: string): boolean {
    const i = this.index(cidr);
    if (i === undefined) return false;
    this.used.add(i);
    return true;
  }
  release(cidr: string): void {
    const i = this.index(cidr);
    if (i !== undefined) this.used.delete(i);
  }
  allocate(): string | undefined {
    for (let i = 0; i < this.count; i++)
      if (!this.used.has(i)) {
        this.used.add(i);
        return formatCidr({ base: (this.base + i * this.step) >>> 0, prefix: this.mask });
      }
    return undefined;
  }
}

export class NodeIpam {
  private informer?: Informer<NodeLike>;
  private elector?: LeaderElector;
  private set: CidrSet;
  private queue = Promise.resolve();

  constructor(
    private client: KubeClient,
    private o: IpamOptions = {},
  ) {
    this.set = new CidrSet(o.clusterCIDR ?? DEFAULT_CLUSTER_CIDR, o.nodeMaskSize ?? 24);
  }

  start(): void {
    if (this.o.leaderElection === false) {
      void this.run();
      return;
    }
    this.elector = new LeaderElector(this.client, {
      namespace: 'kube-system',
      name: 'skiff-node-ipam',
      identity: `${hostname()}_${randomUUID()}`,
      releaseOnCancel: true,
      log: this.o.log,
      onStartedLeading: (signal) => {
        void this.run();
        signal.addEventListener('abort', () => this.informer?.stop(), { once: true });
      },
    });
    this.elector.start();
  }

  async stop(): Promise<void> {
    this.informer?.stop();
    await this.elector?.stop();
  }

  private async run(): Promise<void> {
    // Fresh state per term: what the Nodes hold is the truth.
    this.set = new CidrSet(this.o.clusterCIDR ?? DEFAULT_CLUSTER_CIDR, this.o.nodeMaskSize ?? 24);
    const pending: NodeLike[] = [];
    let synced = false;
    const seen = (n: NodeLike) => {
      if (n.spec?.podCIDR) this.set.occupy(n.spec.podCIDR);
      else if (synced) this.enqueue(n);
      else pending.push(n);
    };
    this.informer = new Informer<NodeLike>(
      this.client,
      NODE_REF,
      {
        add: seen,
        update: (_old, n) => seen(n),
        delete: (n) => {
          if (n.spec?.podCIDR) this.set.release(n.spec.podCIDR);
        },
      },
      { log: this.o.log, transform: (x) => x as unknown as NodeLike },
    );
    await this.informer.start();
    // Allocate only after every existing CIDR is known.
    synced = true;
    for (const n of pending) this.enqueue(n);
  }

  private enqueue(n: NodeLike): void {
    const name = n.metadata.name ?? '';
    // A failed allocation (the API server unreachable, a conflict) is logged; the node's next
    // informer event enqueues it again.
    this.queue = this.queue
      .then(() => this.allocate(name))
      .catch((e) =>
        this.o.log?.warn('node IPAM: allocation failed', {
          node: name,
          error: e instanceof Error ? e.message : String(e),
        }),
      );
  }

  private async allocate(name: string): Promise<void> {
    const node = this.informer?.get(name);
    if (!node || node.spec?.podCIDR) return;
    const cidr = this.set.allocate();
    if (!cidr) {
      this.o.log?.error('node IPAM: the cluster CIDR is full', { node: name });
      return;
    }
    try {
      await this.client.request('PATCH', `/api/v1/nodes/${encodeURIComponent(name)}`, {
        contentType: 'application/merge-patch+json',
        body: {
          metadata: { resourceVersion: node.metadata.resourceVersion },
          spec: { podCIDR: cidr, podCIDRs: [cidr] },
        },
      });
      this.o.log?.info('node IPAM: allocated', { node: name, podCIDR: cidr });
    } catch (e) {
      this.set.release(cidr);
      // A conflict: the Node changed (maybe someone set its CIDR); the informer brings it again.
      if (!isSkiffError(e, 'Conflict') && !isSkiffError(e, 'NotFound'))
        this.o.log?.warn('node IPAM: patch failed', { node: name, error: (e as Error).message });
    }
  }
}
