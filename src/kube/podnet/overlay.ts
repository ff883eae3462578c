// The pod network between nodes (flannel's role, k3s's default backend): every node routes the
// other nodes' pod CIDRs.
// - vxlan (default, as flannel's): one VXLAN device per node (`skiff.1`, VNI 1, UDP 8472, no
//   learning) with the address <podCIDR>.0/32 and the MTU of the node's link minus 50 (the VXLAN
//   header); for each other node a permanent ARP entry (its <podCIDR>.0 → its VTEP MAC), an FDB
//   entry (that MAC → its node IP) and a route <podCIDR> via <podCIDR>.0 onlink on the device.
// - host-gw: a route <podCIDR> via <node IP> for each other node (nodes on one link).
// The node publishes its VTEP with flannel's annotations on its Node (backend-type, backend-data
// {"VNI","VtepMAC"}, public-ip) and learns the others' from theirs. When the node's address moves
// (setNodeIP), the device follows it (device.ts: same MAC), the peers are programmed again and the
// annotations updated; the other nodes re-point their FDB entries and routes from the Node update.
// Everything is level-triggered: the kernel's entries on the device that no peer wants are removed
// after each change (prune.ts), so a missed event or a restart leaves nothing stale.
// Pod-to-pod traffic inside the cluster CIDR is accepted on forwarding and never masqueraded
// (chains SKIFF-PODNET-FWD/-POST, jumped to first, as flannel's FLANNEL-FWD/-POSTRTG).
import type { Logger } from '../../common/index.js';
import { Informer, type KubeClient } from '../client/index.js';
import { chainsFor, hostLinks, linkHolding, parseCidr } from '../../network/index.js';
import { DEFAULT_CLUSTER_CIDR, NODE_REF, type NodeLike } from './ipam.js';
import { failedPrecondition } from '../../common/index.js';
import { ensureVxlan, shell, type Sh } from './device.js';
import { gatewayOf, pruneStale, type Peer } from './prune.js';

export type Backend = 'vxlan' | 'host-gw';
export const VXLAN_DEVICE = 'skiff.1';
export const VNI = 1;
export const VXLAN_PORT = 8472;
const A = 'flannel.alpha.coreos.com/';
const FWD = 'SKIFF-PODNET-FWD';
const POST = 'SKIFF-PODNET-POST';

export interface OverlayOptions {
  client: KubeClient;
  nodeName: string;
  nodeIP: string;
  podCIDR: string;
  clusterCIDR?: string;
  backend?: Backend;
  /** The node's pod-network chain prefix (the CRI's, e.g. SKIFF-POD): its jumps are placed after
   *  ours, so pod-to-pod traffic is accepted before its isolation rules see it. */
  podChainPrefix?: string;
  /** An `ip netns` name to program instead of the process's own network namespace (tests). */
  netns?: string;
  log?: Logger;
}

export class PodOverlay {
  private informer?: Informer<NodeLike>;
  private peers = new Map<string, Peer>();
  private backend: Backend;
  private clusterCIDR: string;
  /** MTU for pods' interfaces on this node (the link's, minus 50 with VXLAN). */
  mtu = 1500;
  private mac = '';
  private nodeIP: string;
  private serial = Promise.resolve();
  private timer?: NodeJS.Timeout;
  private sh: Sh;

  constructor(private o: OverlayOptions) {
    this.backend = o.backend ?? 'vxlan';
    this.clusterCIDR = o.clusterCIDR ?? DEFAULT_CLUSTER_CIDR;
    this.nodeIP = o.nodeIP;
    this.sh = shell(o.netns);
    parseCidr(o.podCIDR, 'podCIDR');
  }

  /** The node address the overlay uses now (its VXLAN local address, its public-ip). */
  get address(): string {
    return this.nodeIP;
  }

  /** The VTEP MAC (vxlan; '' before start or with host-gw). */
  get vtepMac(): string {
    return this.mac;
  }

  async start(): Promise<void> {
    await this.ensureLocal(true);
    await this.ensureRules();
    await this.annotate();
    this.informer = new Informer<NodeLike>(
      this.o.client,
      NODE_REF,
      {
        add: (n) => this.sync(n),
        update: (_o, n) => this.sync(n),
        delete: (n) => this.sync(n, true),
      },
      { log: this.o.log, transform: (x) => x as unknown as NodeLike },
    );
    await this.informer.start();
    await this.serial;
    // Only against a full list: an informer that could not list (the API unreachable) knows no
    // peer yet, and pruning then would cut the pods' traffic the kernel still carries.
    if (this.informer.hasSynced) await this.queue(() => this.prune());
    // Others (the engine's network manager, the pod network) insert their jumps at the top too:
    // ours is put back in front whenever it is not.
    this.timer = setInterval(() => void this.queue(() => this.ensureRules(true)), 5000);
    this.timer.unref();
  }

  /**
   * The node's address moved (or its link did): the device follows (same MAC), the peers are
   * programmed again where the kernel dropped them, entries no peer wants are removed, and the
   * Node's public-ip (and backend-data) annotations updated. Idempotent: the same address again
   * only checks. Resolves when done; a failure is logged and the next call tries again.
   */
  setNodeIP(addr: string): Promise<void> {
    return this.queue(async () => {
      const was = this.nodeIP;
      this.nodeIP = addr;
      const before = this.mac;
      await this.ensureLocal(false);
      await this.annotate();
      if (was !== addr || before !== this.mac)
        this.o.log?.info('pod network: node address moved', { from: was, to: addr, vtepMac: this.mac });
    });
  }

  private queue(fn: () => Promise<void>): Promise<void> {
    this.serial = this.serial
      .then(fn)
      .catch((e) => this.o.log?.warn('pod network: reconcile failed', { error: (e as Error).message }));
    return this.serial;
  }

  /** The device on the link holding the node IP, MTU from that link; peers re-programmed. */
  private async ensureLocal(starting: boolean): Promise<void> {
    const link = linkHolding(await hostLinks(this.o.netns), this.nodeIP);
    if (!link) throw failedPrecondition(`no link has the node IP ${this.nodeIP}`);
    if (this.backend === 'vxlan') {
      this.mtu = link.mtu - 50;
      const r = await ensureVxlan(this.sh, {
        name: VXLAN_DEVICE,
        vni: VNI,
        port: VXLAN_PORT,
        local: this.nodeIP,
        link: link.ifname,
        mtu: this.mtu,
        address: `${gatewayOf(this.o.podCIDR)}/32`,
      });
      this.mac = r.mac;
      if (r.changes.length && !starting) this.o.log?.info('pod network: device', { changes: r.changes.join('; ') });
    } else this.mtu = link.mtu;
    // Re-applied whatever happened: a recreated device lost them, a moved address may have taken
    // host-gw routes with it; `replace` makes it a no-op otherwise.
    for (const [, p] of this.peers) await this.route(p);
    if (!starting && this.informer?.hasSynced) await this.prune();
  }

  private async annotate(): Promise<void> {
    await this.o.client.request('PATCH', `/api/v1/nodes/${encodeURIComponent(this.o.nodeName)}`, {
      contentType: 'application/merge-patch+json',
      body: {
        metadata: {
          annotations: {
            [`${A}backend-type`]: this.backend,
            [`${A}backend-data`]: this.backend === 'vxlan' ? JSON.stringify({ VNI, VtepMAC: this.mac }) : 'null',
            [`${A}public-ip`]: this.nodeIP,
            [`${A}kube-subnet-manager`]: 'true',
          },
        },
      },
    });
  }

  /** Stops watching; routes stay (pods keep talking across an agent restart). */
  stop(): void {
    this.informer?.stop();
    clearInterval(this.timer);
  }

  /** Waits for the programming queued so far. */
  async settled(): Promise<void> {
    await this.serial;
  }

  /** Removes the device, the routes and the rules (the node leaves). */
  async uninstall(): Promise<void> {
    this.stop();
    await this.serial;
    for (const [, p] of this.peers) await this.unroute(p);
    this.peers.clear();
    if (this.backend === 'vxlan') await this.sh.run('ip', ['link', 'del', VXLAN_DEVICE]);
    for (const [table, chain, parent] of [
      ['filter', FWD, 'FORWARD'],
      ['nat', POST, 'POSTROUTING'],
    ]) {
      await this.sh.run('iptables', ['-w', '-t', table, '-D', parent, '-j', chain]);
      await this.sh.run('iptables', ['-w', '-t', table, '-F', chain]);
      await this.sh.run('iptables', ['-w', '-t', table, '-X', chain]);
    }
  }

  private peerOf(n: NodeLike): Peer | undefined {
    const a = n.metadata.annotations ?? {};
    const podCIDR = n.spec?.podCIDR;
    const ipAddr = a[`${A}public-ip`];
    if (!podCIDR || !ipAddr || a[`${A}backend-type`] !== this.backend) return undefined;
    if (this.backend === 'host-gw') return { podCIDR, ip: ipAddr };
    try {
      const mac = (JSON.parse(a[`${A}backend-data`] ?? '') as { VtepMAC?: string }).VtepMAC;
      return mac ? { podCIDR, ip: ipAddr, mac } : undefined;
    } catch {
      return undefined;
    }
  }

  private sync(n: NodeLike, deleted = false): void {
    const name = n.metadata.name ?? '';
    if (name === this.o.nodeName) return;
    this.serial = this.serial
      .then(async () => {
        const want = deleted ? undefined : this.peerOf(n);
        const have = this.peers.get(name);
        if (JSON.stringify(want) === JSON.stringify(have)) return;
        if (have) await this.unroute(have);
        this.peers.delete(name);
        if (want) {
          await this.route(want);
          this.peers.set(name, want);
        }
        this.o.log?.info('pod network: peer', { node: name, ...(want ?? { removed: true }) });
      })
      .catch((e) =>
        this.o.log?.warn('pod network: programming a peer failed', { node: name, error: (e as Error).message }),
      );
  }

  private async route(p: Peer): Promise<void> {
    if (this.backend === 'host-gw') {
      await this.sh.must('ip', ['route', 'replace', p.podCIDR, 'via', p.ip]);
      return;
    }
    const gw = gatewayOf(p.podCIDR);
    await this.sh.must('ip', ['neigh', 'replace', gw, 'lladdr', p.mac!, 'dev', VXLAN_DEVICE, 'nud', 'permanent']);
    await this.sh.must('bridge', ['fdb', 'replace', p.mac!, 'dev', VXLAN_DEVICE, 'dst', p.ip, 'self', 'permanent']);
    await this.sh.must('ip', ['route', 'replace', p.podCIDR, 'via', gw, 'dev', VXLAN_DEVICE, 'onlink']);
  }

  private async unroute(p: Peer): Promise<void> {
    await this.sh.run('ip', ['route', 'del', p.podCIDR]);
    if (this.backend === 'vxlan') {
      await this.sh.run('ip', ['neigh', 'del', gatewayOf(p.podCIDR), 'dev', VXLAN_DEVICE]);
      await this.sh.run('bridge', ['fdb', 'del', p.mac!, 'dev', VXLAN_DEVICE, 'dst', p.ip, 'self']);
    }
  }

  private prune(): Promise<void> {
    return pruneStale(this.sh, this.backend, [...this.peers.values()], this.clusterCIDR, VXLAN_DEVICE);
  }

  /** Pod-to-pod forwarding accepted and not masqueraded, ahead of anything else. */
  async ensureRules(onlyOrder = false): Promise<void> {
    const c = this.clusterCIDR;
    if (onlyOrder) {
      let first = true;
      for (const [table, chain, parent] of [
        ['filter', FWD, 'FORWARD'],
        ['nat', POST, 'POSTROUTING'],
      ]) {
        const rules = (await this.sh.must('iptables', ['-w', '-t', table, '-S', parent])).split('\n');
        first &&= rules.find((l) => l.startsWith('-A ')) === `-A ${parent} -j ${chain}`;
      }
      if (first) return;
    }
    const chains: [string, string, string, string[][]][] = [
      ['filter', FWD, 'FORWARD', [['-s', c, '-d', c, '-j', 'ACCEPT']]],
      ['nat', POST, 'POSTROUTING', [['-s', c, '-d', c, '-j', 'ACCEPT']]],
    ];
    for (const [table, chain, parent, rules] of chains) {
      await this.sh.run('iptables', ['-w', '-t', table, '-N', chain]);
      await this.sh.must('iptables', ['-w', '-t', table, '-F', chain]);
      for (const r of rules) await this.sh.must('iptables', ['-w', '-t', table, '-A', chain, ...r]);
      while ((await this.sh.run('iptables', ['-w', '-t', table, '-D', parent, '-j', chain])).code === 0);
      await this.sh.must('iptables', ['-w', '-t', table, '-I', parent, '1', '-j', chain]);
    }
    // The pod network inserts its jumps at the top only when they are missing: present (after
    // ours) from the start, they stay there. The 5 s check above covers anything else.
    if (this.o.podChainPrefix) {
      const pod = chainsFor(this.o.podChainPrefix);
      for (const [table, chain, parent] of [
        ['filter', pod.fwd, 'FORWARD'],
        ['nat', pod.post, 'POSTROUTING'],
      ]) {
        await this.sh.run('iptables', ['-w', '-t', table, '-N', chain]);
        if ((await this.sh.run('iptables', ['-w', '-t', table, '-C', parent, '-j', chain])).code !== 0)
          await this.sh.must('iptables', ['-w', '-t', table, '-I', parent, '2', '-j', chain]);
      }
    }
  }
}
