// The pod network between nodes (flannel's role, k3s's default backend): every node routes the
// other nodes' pod CIDRs.
// - vxlan (default, as flannel's): one VXLAN device per node (`skiff.1`, VNI 1, UDP 8472, no
//   learning) with the address <podCIDR>.0/32 and the MTU of the node's link minus 50 (the VXLAN
//   header); for each other node a permanent ARP entry (its <podCIDR>.0 → its VTEP MAC), an FDB
//   entry (that MAC → its node IP) and a route <podCIDR> via <podCIDR>.0 onlink on the device.
// - host-gw: a route <podCIDR> via <node IP> for each other node (nodes on one link).
// The node publishes its VTEP with flannel's annotations on its Node (backend-type, backend-data
// {"VNI","VtepMAC"}, public-ip) and learns the others' from theirs. Pod-to-pod traffic inside the
// cluster CIDR is accepted on forwarding and never masqueraded (chains SKIFF-PODNET-FWD/-POST,
// jumped to first, as flannel's FLANNEL-FWD/-POSTRTG).
import type { Logger } from '../../common/index.js';
import { Informer, type KubeClient } from '../client/index.js';
import { chainsFor, mustRun, parseCidr, run } from '../../network/index.js';
import { DEFAULT_CLUSTER_CIDR, NODE_REF, type NodeLike } from './ipam.js';
import { failedPrecondition } from '../../common/index.js';

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
  log?: Logger;
}

interface Peer {
  podCIDR: string;
  ip: string;
  mac?: string;
}

const gatewayOf = (cidr: string) => cidr.split('/')[0];

async function ip(args: string[]): Promise<string> {
  return mustRun('ip', args);
}

/** The link that holds `addr` and its MTU. */
async function linkOf(addr: string): Promise<{ dev: string; mtu: number }> {
  const out = JSON.parse(await ip(['-j', 'addr', 'show'])) as {
    ifname: string;
    mtu: number;
    addr_info?: { local: string }[];
  }[];
  const l = out.find((x) => x.addr_info?.some((a) => a.local === addr));
  if (!l) throw failedPrecondition(`no link has the node IP ${addr}`);
  return { dev: l.ifname, mtu: l.mtu };
}

export class PodOverlay {
  private informer?: Informer<NodeLike>;
  private peers = new Map<string, Peer>();
  private backend: Backend;
  private clusterCIDR: string;
  /** MTU for pods' interfaces on this node (the link's, minus 50 with VXLAN). */
  mtu = 1500;
  private mac = '';
  private serial = Promise.resolve();
  private timer?: NodeJS.Timeout;

  constructor(private o: OverlayOptions) {
    this.backend = o.backend ?? 'vxlan';
    this.clusterCIDR = o.clusterCIDR ?? DEFAULT_CLUSTER_CIDR;
    parseCidr(o.podCIDR, 'podCIDR');
  }

  async start(): Promise<void> {
    const link = await linkOf(this.o.nodeIP);
    if (this.backend === 'vxlan') {
      this.mtu = link.mtu - 50;
      await run('ip', ['link', 'del', VXLAN_DEVICE]);
      await ip([
        'link',
        'add',
        VXLAN_DEVICE,
        'type',
        'vxlan',
        'id',
        String(VNI),
        'local',
        this.o.nodeIP,
        'dev',
        link.dev,
        'dstport',
        String(VXLAN_PORT),
        'nolearning',
      ]);
      await ip(['link', 'set', VXLAN_DEVICE, 'mtu', String(this.mtu), 'up']);
      await ip(['addr', 'add', `${gatewayOf(this.o.podCIDR)}/32`, 'dev', VXLAN_DEVICE]);
      const info = JSON.parse(await ip(['-j', 'link', 'show', VXLAN_DEVICE])) as { address: string }[];
      this.mac = info[0].address;
    } else this.mtu = link.mtu;
    await this.ensureRules();
    await this.o.client.request('PATCH', `/api/v1/nodes/${encodeURIComponent(this.o.nodeName)}`, {
      contentType: 'application/merge-patch+json',
      body: {
        metadata: {
          annotations: {
            [`${A}backend-type`]: this.backend,
            [`${A}backend-data`]: this.backend === 'vxlan' ? JSON.stringify({ VNI, VtepMAC: this.mac }) : 'null',
            [`${A}public-ip`]: this.o.nodeIP,
            [`${A}kube-subnet-manager`]: 'true',
          },
        },
      },
    });
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
    // Others (the engine's network manager, the pod network) insert their jumps at the top too:
    // ours is put back in front whenever it is not.
    this.timer = setInterval(() => {
      this.serial = this.serial
        .then(() => this.ensureRules(true))
        .catch((e) => this.o.log?.warn('pod network: rules check failed', { error: (e as Error).message }));
    }, 5000);
    this.timer.unref();
  }

  /** Stops watching; routes stay (pods keep talking across an agent restart). */
  stop(): void {
    this.informer?.stop();
    clearInterval(this.timer);
  }

  /** Removes the device, the routes and the rules (the node leaves). */
  async uninstall(): Promise<void> {
    this.stop();
    await this.serial;
    for (const [, p] of this.peers) await this.unroute(p);
    this.peers.clear();
    if (this.backend === 'vxlan') await run('ip', ['link', 'del', VXLAN_DEVICE]);
    for (const [table, chain, parent] of [
      ['filter', FWD, 'FORWARD'],
      ['nat', POST, 'POSTROUTING'],
    ]) {
      await run('iptables', ['-w', '-t', table, '-D', parent, '-j', chain]);
      await run('iptables', ['-w', '-t', table, '-F', chain]);
      await run('iptables', ['-w', '-t', table, '-X', chain]);
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
      await ip(['route', 'replace', p.podCIDR, 'via', p.ip]);
      return;
    }
    const gw = gatewayOf(p.podCIDR);
    await ip(['neigh', 'replace', gw, 'lladdr', p.mac!, 'dev', VXLAN_DEVICE, 'nud', 'permanent']);
    await mustRun('bridge', ['fdb', 'replace', p.mac!, 'dev', VXLAN_DEVICE, 'dst', p.ip, 'self', 'permanent']);
    await ip(['route', 'replace', p.podCIDR, 'via', gw, 'dev', VXLAN_DEVICE, 'onlink']);
  }

  private async unroute(p: Peer): Promise<void> {
    await run('ip', ['route', 'del', p.podCIDR]);
    if (this.backend === 'vxlan') {
      await run('ip', ['neigh', 'del', gatewayOf(p.podCIDR), 'dev', VXLAN_DEVICE]);
      await run('bridge', ['fdb', 'del', p.mac!, 'dev', VXLAN_DEVICE, 'dst', p.ip, 'self']);
    }
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
        const rules = (await mustRun('iptables', ['-w', '-t', table, '-S', parent])).split('\n');
        first &&= rules.find((l) => l.startsWith('-A ')) === `-A ${parent} -j ${chain}`;
      }
      if (first) return;
    }
    const chains: [string, string, string, string[][]][] = [
      ['filter', FWD, 'FORWARD', [['-s', c, '-d', c, '-j', 'ACCEPT']]],
      ['nat', POST, 'POSTROUTING', [['-s', c, '-d', c, '-j', 'ACCEPT']]],
    ];
    for (const [table, chain, parent, rules] of chains) {
      await run('iptables', ['-w', '-t', table, '-N', chain]);
      await mustRun('iptables', ['-w', '-t', table, '-F', chain]);
      for (const r of rules) await mustRun('iptables', ['-w', '-t', table, '-A', chain, ...r]);
      while ((await run('iptables', ['-w', '-t', table, '-D', parent, '-j', chain])).code === 0);
      await mustRun('iptables', ['-w', '-t', table, '-I', parent, '1', '-j', chain]);
    }
    // The pod network inserts its jumps at the top only when they are missing: present (after
    // ours) from the start, they stay there. The 5 s check above covers anything else.
    if (this.o.podChainPrefix) {
      const pod = chainsFor(this.o.podChainPrefix);
      for (const [table, chain, parent] of [
        ['filter', pod.fwd, 'FORWARD'],
        ['nat', pod.post, 'POSTROUTING'],
      ]) {
        await run('iptables', ['-w', '-t', table, '-N', chain]);
        if ((await run('iptables', ['-w', '-t', table, '-C', parent, '-j', chain])).code !== 0)
          await mustRun('iptables', ['-w', '-t', table, '-I', parent, '2', '-j', chain]);
      }
    }
  }
}
