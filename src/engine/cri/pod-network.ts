// The pod network of one node: a bridge of its own (not the Docker bridge) on the node's pod CIDR
// (UpdateRuntimeConfig's network_config.pod_cidr, as kubelet sends the node's podCIDR; default
// 10.42.0.0/24, the first /24 of the cluster CIDR 10.42.0.0/16), one veth per sandbox, host-local
// IPAM, outbound NAT and hostPort mappings — all src/network's NetworkManager, in a state directory
// and iptables chains of its own so the engine's Docker networks and the pods never mix.
import { readFileSync, writeFileSync } from 'node:fs';
import { createLogger, traced } from '../../common/index.js';
import { NetworkManager, type PortRequest } from '../../network/index.js';

const log = createLogger({ component: 'engine.cri.network' });
const NETWORK = 'pods';

export interface PodNetworkOptions {
  stateDir: string;
  /** Bridge interface (≤ 15 characters). */
  bridge: string;
  /** iptables chain prefix (≤ 16 characters). */
  chainPrefix: string;
  /** Pod CIDR used until UpdateRuntimeConfig names one. */
  defaultCidr: string;
  /** MTU of the bridge and the pods' veths (default 1500). */
  mtu?: number;
}

export interface PortMappingLike {
  protocol?: unknown;
  containerPort?: number;
  hostPort?: number;
  hostIp?: string;
}

const BRIDGE_NF = '/proc/sys/net/bridge/bridge-nf-call-iptables';
/** Whether bridged IPv4 passes iptables/conntrack (br_netfilter), switched on when it can be. */
function bridgeNetfilter(): boolean {
  try {
    if (readFileSync(BRIDGE_NF, 'utf8').trim() === '1') return true;
    writeFileSync(BRIDGE_NF, '1');
    return true;
  } catch {
    return false;
  }
}

export class PodNetwork {
  readonly manager: NetworkManager;
  private cidr: string;
  private ready?: Promise<void>;

  constructor(private readonly o: PodNetworkOptions) {
    // Service traffic keeps the client Pod's address (the service proxy masquerades self-hairpins)
    // when bridged packets pass conntrack, so a same-bridge backend's replies are un-DNATed;
    // without br_netfilter they would not be, and every DNATed connection is masqueraded instead.
    const bridgeConntrack = bridgeNetfilter();
    if (!bridgeConntrack) log.warn('bridge-nf-call-iptables is off: Service backends see the bridge address');
    this.manager = new NetworkManager({
      stateDir: o.stateDir,
      chainPrefix: o.chainPrefix,
      mtu: o.mtu,
      dnatMasquerade: bridgeConntrack ? 'hostPorts' : 'all',
    });
    this.cidr = o.defaultCidr;
  }

  async init(): Promise<void> {
    await this.manager.init();
    if (this.manager.has(NETWORK)) this.cidr = this.manager.inspect(NETWORK).config.subnet;
  }

  get podCidr(): string {
    return this.cidr;
  }

  /** A new pod CIDR: the bridge moves to it once no sandbox holds an address on the old one. */
  async setCidr(cidr: string): Promise<void> {
    if (!cidr || cidr === this.cidr) return;
    this.cidr = cidr;
    this.ready = undefined;
    if (!this.manager.has(NETWORK)) return;
    const s = this.manager.inspect(NETWORK);
    if (s.config.subnet === cidr) return;
    if (Object.keys(s.endpoints).length) {
      log.warn('pod CIDR changed while sandboxes hold addresses; the bridge keeps its subnet until they go', {
        old: s.config.subnet,
        wanted: cidr,
      });
      return;
    }
    await this.manager.remove(NETWORK);
  }

  private ensure(): Promise<void> {
    this.ready ??= (async () => {
      if (this.manager.has(NETWORK)) {
        const s = this.manager.inspect(NETWORK);
        if (s.config.subnet === this.cidr || Object.keys(s.endpoints).length) return;
        await this.manager.remove(NETWORK);
      }
      await this.manager.create({ name: NETWORK, bridge: this.o.bridge, subnet: this.cidr, dns: false, labels: {} });
    })().catch((e) => {
      this.ready = undefined;
      throw e;
    });
    return this.ready;
  }

  /** Connects the sandbox's namespace (eth0, an address, the default route) and maps its hostPorts. */
  async attach(
    sandboxId: string,
    netns: string,
    ports: PortMappingLike[],
    traceKey = sandboxId,
  ): Promise<{ ip: string; network: string }> {
    await this.ensure();
    const reqs: PortRequest[] = ports
      .filter((p) => (p.hostPort ?? 0) > 0 && (p.containerPort ?? 0) > 0)
      .map((p) => ({
        containerPort: p.containerPort!,
        hostPort: p.hostPort,
        hostIp: p.hostIp || undefined,
        proto: p.protocol === 'UDP' || p.protocol === 1 ? 'udp' : 'tcp',
      }));
    const e = await this.manager.connect(NETWORK, {
      id: sandboxId,
      name: sandboxId.slice(0, 12),
      netns,
      ports: reqs,
      traceKey,
    });
    return { ip: e.ip, network: NETWORK };
  }

  async detach(sandboxId: string): Promise<void> {
    if (!this.manager.has(NETWORK)) return;
    if (!this.manager.inspect(NETWORK).endpoints[sandboxId]) return;
    await this.manager.disconnect(NETWORK, sandboxId);
  }

  /** Engine shutdown: links, addresses and rules stay for the sandboxes that keep running. */
  close(): Promise<void> {
    return this.manager.close();
  }

  /** Tests: removes the bridge, veths, chains and state. */
  purge(): Promise<void> {
    return this.manager.purge();
  }
}
