// NetworkManager: bridges, endpoints, IPAM, NAT/port rules and the embedded DNS for one engine
// instance. All state lives in one directory (one JSON file per network); iptables chains are
// re-rendered from that state on every change, so `init()` after a crash converges to exactly one
// copy of each rule, and endpoints whose namespace is gone are released.
import { statSync } from 'node:fs';
import {
  conflict,
  failedPrecondition,
  invalidArgument,
  notFound,
  traced,
  traceMark,
  traceNow,
} from '../common/index.js';
import { formatCidr, formatIp, macFor, overlaps, parseCidr, parseIp, contains, pickSubnet, type Cidr } from './cidr.js';
import { run } from './exec.js';
import { allocate } from './ipam.js';
import { attachVeth, deleteLink, ensureBridge, hostVethName, linkExists, setSysctl, writable } from './links.js';
import { resolvePorts, type PortRequest } from './ports.js';
import { apply, chainsFor, removeAll, type Chains, type DnatMasquerade } from './rules.js';
import { StateDir, type Endpoint, type NetworkConfig, type NetworkState } from './state.js';
import { DnsServer } from './dns.js';
import { adoptBridge, inspectLink } from './adopt.js';
import { UserlandProxies } from './proxy.js';

export interface ManagerOptions {
  stateDir: string;
  /** Prefix of our iptables chains (≤ 16 chars), unique per engine instance in tests. */
  chainPrefix?: string;
  mtu?: number;
  /** Port of the embedded DNS (53; tests may pick another). */
  dnsPort?: number;
  /** 127.0.0.1 publishing: DNAT (needs route_localnet on our bridges) or a Node TCP proxy.
   *  `auto` (default) proxies only where route_localnet cannot be written. */
  userlandProxy?: 'auto' | 'always' | 'never';
  /** Directory of the host-wide lock held while a subnet is picked and its bridge made, so two
   *  managers (engines) on one host never choose the same pool at the same moment. */
  hostLockDir?: string;
  /** DNATed same-subnet traffic to masquerade: `all` (Docker's default, the default here) or
   *  `hostPorts` (a pod network behind a service proxy that masquerades self-hairpins itself). */
  dnatMasquerade?: DnatMasquerade;
}

export interface CreateOptions {
  name: string;
  bridge?: string;
  subnet?: string;
  gateway?: string;
  ipRange?: string;
  internal?: boolean;
  labels?: Record<string, string>;
  mtu?: number;
  dns?: boolean; // embedded DNS on this network's gateway (user-defined networks; off for the default bridge)
  /** Take over an existing bridge of that name (the default bridge, as dockerd reuses docker0): its
   *  address gives the subnet; a mismatch with `subnet`/`gateway`, attached interfaces or a
   *  non-bridge device are refused with what to do. Without it an existing interface is refused. */
  adopt?: boolean;
}

export interface ConnectOptions {
  id: string;
  name?: string;
  aliases?: string[];
  /** The container's network namespace: a pid or a path (e.g. /run/netns/x, /proc/PID/ns/net). */
  netns: number | string;
  ip?: string;
  mac?: string; // fixed (the engine's --mac-address), as aa:bb:cc:dd:ee:ff; derived from ip otherwise
  ports?: PortRequest[];
  /** Key of the phase timings (SKIFF_TRACE) of this connect: the pod's uid for the CRI. */
  traceKey?: string;
}

const NAME_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

export class NetworkManager {
  readonly state: StateDir;
  readonly chains: Chains;
  readonly dns: DnsServer;
  private readonly mtu: number;
  private nets = new Map<string, NetworkState>();
  private queue: Promise<unknown> = Promise.resolve();
  private jumpsChecked = false;
  readonly proxyLoopback: boolean;
  private readonly proxies = new UserlandProxies();
  private readonly hostLock: StateDir;
  private readonly dnatMasquerade: DnatMasquerade;

  constructor(o: ManagerOptions) {
    this.state = new StateDir(o.stateDir);
    const prefix = o.chainPrefix ?? 'SKIFF';
    if (!/^[A-Z0-9_-]{1,16}$/i.test(prefix))
      throw invalidArgument(`chainPrefix: "${prefix}" must be 1-16 letters, digits, - or _`, { field: 'chainPrefix' });
    this.chains = chainsFor(prefix);
    this.mtu = o.mtu ?? 1500;
    this.dns = new DnsServer(undefined, o.dnsPort ?? 53);
    this.hostLock = new StateDir(o.hostLockDir ?? '/run/skiff/network');
    this.dnatMasquerade = o.dnatMasquerade ?? 'all';
    const mode = o.userlandProxy ?? 'auto';
    this.proxyLoopback =
      mode === 'always' || (mode === 'auto' && !writable('/proc/sys/net/ipv4/conf/default/route_localnet'));
  }

  /** Serialises mutations in this process; the state directory's lock covers other processes. */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.queue.then(() => this.state.locked(fn));
    this.queue = p.catch(() => undefined); // each caller gets its own error from p
    return p;
  }

  /** Loads state, re-creates bridges, drops endpoints whose namespace is gone, rewrites rules and
   *  starts DNS listeners. Idempotent: safe after a crash and on every engine start. */
  init(): Promise<void> {
    return this.serial(async () => {
      setSysctl('net/ipv4/ip_forward', '1');
      this.jumpsChecked = false;
      for (const name of this.state.names()) {
        const s = this.state.read(name);
        if (!s) continue;
        await ensureBridge(s.config.bridge, `${s.config.gateway}/${parseCidr(s.config.subnet).prefix}`, s.config.mtu);
        for (const e of Object.values(s.endpoints)) {
          if (netnsIno(e.netns) !== e.netnsIno || !(await linkExists(e.hostVeth))) {
            await deleteLink(e.hostVeth);
            delete s.endpoints[e.id];
          }
        }
        this.state.write(s);
        this.nets.set(name, s);
      }
      await this.rules();
      for (const s of this.nets.values()) {
        await this.refreshDns(s);
        for (const e of Object.values(s.endpoints)) await this.startProxies(s, e).catch(() => undefined); // a port taken meanwhile must not stop the restore
      }
    });
  }

  list(): NetworkState[] {
    return [...this.nets.values()].map((s) => structuredClone(s));
  }

  inspect(name: string): NetworkState {
    const s = this.nets.get(name);
    if (!s) throw notFound(`network ${name} not found`, { field: 'name' });
    return structuredClone(s);
  }

  create(o: CreateOptions): Promise<NetworkConfig> {
    return this.serial(async () => {
      if (!NAME_RE.test(o.name ?? ''))
        throw invalidArgument(`name: invalid network name "${o.name}"`, { field: 'name' });
      if (this.nets.has(o.name) || this.state.read(o.name))
        throw conflict(`network with name ${o.name} already exists`, { field: 'name' });
      const bridge = o.bridge ?? `br-${o.name}`.slice(0, 15);
      if (!/^[a-zA-Z0-9_.-]{1,15}$/.test(bridge))
        throw invalidArgument(`bridge: invalid interface name "${bridge}"`, { field: 'bridge' });
      if ([...this.nets.values()].some((n) => n.config.bridge === bridge))
        throw conflict(`bridge ${bridge} is used by another network`, { field: 'bridge' });
      return this.hostLock.locked(async () => {
        const existing = await inspectLink(bridge);
        if (existing && !o.adopt)
          throw conflict(`bridge: interface ${bridge} already exists on the host`, { field: 'bridge' });
        const adopted = existing
          ? adoptBridge(
              existing,
              o.subnet ? { subnet: o.subnet, gateway: o.gateway ?? formatIp(parseCidr(o.subnet).base + 1) } : undefined,
            )
          : undefined;
        // the existing bridge's own connected route is not a conflict with itself
        const used = (await this.usedSubnets()).filter((u) => !(existing && u.dev === bridge));
        let subnet: Cidr;
        if (adopted) {
          subnet = adopted.subnet;
          const hit = used.find((u) => overlaps(u.cidr, subnet));
          if (hit)
            throw conflict(
              `bridge: interface ${bridge} already exists on the host with subnet ${formatCidr(subnet)}, which overlaps with ${formatCidr(hit.cidr)} (${hit.what}): delete it (ip link delete ${bridge}) or give the engine a bridge of its own (--bridge NAME)`,
              { field: 'bridge' },
            );
        } else if (o.subnet) {
          subnet = parseCidr(o.subnet, 'subnet');
          if (subnet.prefix > 30) throw invalidArgument(`subnet: ${o.subnet} is too small`, { field: 'subnet' });
          const hit = used.find((u) => overlaps(u.cidr, subnet));
          if (hit)
            // moby's words for another network's pool (scripts look for them); a host route is ours
            throw conflict(
              hit.what.startsWith('network ')
                ? `invalid pool request: Pool overlaps with other one on this address space (${o.subnet} and ${formatCidr(hit.cidr)} of ${hit.what})`
                : `subnet: ${o.subnet} overlaps with ${formatCidr(hit.cidr)} (${hit.what})`,
              { field: 'subnet' },
            );
        } else {
          const p = pickSubnet(used.map((u) => u.cidr));
          if (!p)
            throw failedPrecondition(
              'could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network',
            );
          subnet = p;
        }
        const gateway = adopted?.gateway ?? o.gateway ?? formatIp(subnet.base + 1);
        if (!contains(subnet, parseIp(gateway, 'gateway')))
          throw invalidArgument(`gateway: ${gateway} is not in subnet ${formatCidr(subnet)}`, { field: 'gateway' });
        if (o.ipRange) {
          const r = parseCidr(o.ipRange, 'ipRange');
          if (!contains(subnet, r.base) || r.prefix < subnet.prefix)
            throw invalidArgument(`ipRange: ${o.ipRange} is not inside subnet ${formatCidr(subnet)}`, {
              field: 'ipRange',
            });
        }
        const s: NetworkState = {
          config: {
            name: o.name,
            bridge,
            subnet: formatCidr(subnet),
            gateway,
            ipRange: o.ipRange,
            internal: !!o.internal,
            mtu: o.mtu ?? this.mtu,
            dns: o.dns ?? true,
            labels: o.labels ?? {},
            created: new Date().toISOString(),
          },
          endpoints: {},
        };
        try {
          await ensureBridge(bridge, `${gateway}/${subnet.prefix}`, s.config.mtu);
          this.nets.set(o.name, s);
          await this.rules();
          await this.refreshDns(s);
          this.state.write(s);
        } catch (e) {
          this.nets.delete(o.name);
          await this.dns.unlisten(o.name);
          if (!existing) await deleteLink(bridge); // an adopted bridge was there before us: left as found
          await this.rules().catch(() => undefined); // the next rules() rewrite drops any leftover
          throw e;
        }
        return structuredClone(s.config);
      });
    });
  }

  remove(name: string): Promise<void> {
    return this.serial(async () => {
      const s = this.nets.get(name);
      if (!s) throw notFound(`network ${name} not found`, { field: 'name' });
      const n = Object.keys(s.endpoints).length;
      if (n)
        throw conflict(`error while removing network: network ${name} has ${n} active endpoint(s)`, { field: 'name' });
      await this.dns.unlisten(name);
      this.nets.delete(name);
      await this.rules();
      await deleteLink(s.config.bridge);
      this.state.delete(name);
    });
  }

  /**
   * Connects a namespace: the address (and host ports) are taken and recorded under the lock, the
   * veth is made outside it (the slow part: two `ip` runs), and the rules, DNS and proxies follow
   * under the lock again — so connects of different containers overlap instead of queueing behind
   * each other's veth.
   */
  async connect(network: string, o: ConnectOptions): Promise<Endpoint> {
    const tk = o.traceKey ?? o.id;
    const tq = traceNow();
    const { s, e, gateway } = await this.serial(async () => {
      traceMark(tk, 'net.wait', tq);
      const s = this.nets.get(network);
      if (!s) throw notFound(`network ${network} not found`, { field: 'network' });
      if (!o.id) throw invalidArgument('id: a container id is required', { field: 'id' });
      if (s.endpoints[o.id])
        throw conflict(`endpoint for ${o.id} already exists in network ${network}`, { field: 'id' });
      const netns = typeof o.netns === 'number' ? `/proc/${o.netns}/ns/net` : o.netns;
      const ino = netnsIno(netns);
      if (!ino) throw invalidArgument(`netns: ${netns} is not a network namespace`, { field: 'netns' });
      await traced(tk, 'net.sweep', () => this.sweep());
      const ports = await resolvePorts(s.config.internal ? [] : (o.ports ?? []), this.allPorts());
      const ip = allocate(s, o.ip);
      const others = [...this.nets.values()].flatMap((n) => Object.values(n.endpoints)).filter((e) => e.id === o.id);
      let ifname = 'eth0';
      for (let i = 0; others.some((e) => e.ifname === ifname); i++) ifname = `eth${i + 1}`;
      const e: Endpoint = {
        id: o.id,
        name: o.name ?? o.id.slice(0, 12),
        aliases: o.aliases ?? [],
        ip,
        mac: o.mac ?? macFor(parseIp(ip)),
        ifname,
        hostVeth: hostVethName(network, o.id),
        netns,
        netnsIno: ino,
        ports,
      };
      // Recorded before the veth exists: the address and ports are taken (this process and any
      // other sharing the state directory see them); a failed veth gives them back below.
      s.endpoints[o.id] = e;
      this.state.write(s);
      return { s, e, gateway: s.config.internal || others.length ? undefined : s.config.gateway };
    });
    const undo = () =>
      this.serial(async () => {
        const now = s.endpoints[o.id];
        if (now === e) {
          delete s.endpoints[o.id];
          await this.stopProxies(s, e);
          this.state.write(s);
        }
        // (the same name may belong to a new connect of this id after a disconnect)
        if (now === e || now === undefined) await deleteLink(e.hostVeth);
        // best effort: the next rules() rewrite and DNS refresh drop whatever this leaves behind
        await this.rules().catch(() => undefined);
        await this.refreshDns(s).catch(() => undefined);
      });
    try {
      await traced(tk, 'net.veth', () =>
        attachVeth({
          netns: e.netns,
          bridge: s.config.bridge,
          hostVeth: e.hostVeth,
          ifname: e.ifname,
          mac: e.mac,
          mtu: s.config.mtu,
          ipCidr: `${e.ip}/${parseCidr(s.config.subnet).prefix}`,
          gateway,
        }),
      );
    } catch (err) {
      await undo();
      throw err;
    }
    try {
      return await this.serial(async () => {
        // a disconnect (or a sweep of a namespace that died) while the veth was made
        if (s.endpoints[o.id] !== e)
          throw conflict(`endpoint for ${o.id} was removed while connecting`, { field: 'id' });
        const tr = traceNow();
        // the rules depend on endpoints only through their published ports
        if (e.ports.length || !this.jumpsChecked) await this.rules();
        traceMark(tk, 'net.rulesState', tr);
        await this.refreshDns(s);
        await this.startProxies(s, e);
        return structuredClone(e);
      });
    } catch (err) {
      await undo();
      throw err;
    }
  }

  disconnect(network: string, id: string): Promise<void> {
    return this.serial(async () => {
      const s = this.nets.get(network);
      if (!s) throw notFound(`network ${network} not found`, { field: 'network' });
      const e = s.endpoints[id];
      if (!e) throw notFound(`container ${id} is not connected to network ${network}`, { field: 'id' });
      delete s.endpoints[id];
      await this.stopProxies(s, e);
      if (e.ports.length) await this.rules();
      this.state.write(s);
      await deleteLink(e.hostVeth);
      await this.refreshDns(s);
    });
  }

  /** Engine shutdown: stop DNS; bridges, veths and rules stay up for running containers. */
  async close(): Promise<void> {
    await this.queue;
    await this.dns.close();
    await this.proxies.close();
  }

  /** Removes everything this manager made (all networks must be empty or `force`). */
  destroy(force = false): Promise<void> {
    return this.serial(async () => {
      await this.dns.close();
      await this.proxies.close();
      for (const s of this.nets.values()) {
        if (!force && Object.keys(s.endpoints).length)
          throw conflict(`network ${s.config.name} has active endpoints`, { field: 'name' });
        for (const e of Object.values(s.endpoints)) await deleteLink(e.hostVeth);
        await deleteLink(s.config.bridge);
        this.state.delete(s.config.name);
      }
      this.nets.clear();
      await removeAll(this.chains);
    });
  }

  /** Tests and `skiff engine` leftovers: removes everything recorded in the state directory
   *  (bridges, host veths, state files) and our chains and jumps, without re-creating anything. */
  purge(): Promise<void> {
    return this.serial(async () => {
      for (const name of this.state.names()) {
        let s: NetworkState | undefined;
        try {
          s = this.state.read(name);
        } catch {
          s = undefined;
        }
        if (s) this.nets.set(name, s);
        else this.state.delete(name);
      }
    }).then(() => this.destroy(true));
  }

  /** Releases endpoints whose namespace is gone (the container exited without a disconnect). */
  async sweep(): Promise<boolean> {
    let changed = false; // rules to rewrite (a released endpoint published ports)
    let released = false;
    for (const s of this.nets.values()) {
      for (const e of Object.values(s.endpoints)) {
        if (netnsIno(e.netns) === e.netnsIno) continue;
        if (e.ports.length) changed = true;
        delete s.endpoints[e.id];
        await this.stopProxies(s, e);
        await deleteLink(e.hostVeth);
        this.state.write(s);
        await this.refreshDns(s);
        released = true;
      }
    }
    if (changed) await this.rules();
    return released;
  }

  private async rules(): Promise<void> {
    try {
      await apply(this.chains, [...this.nets.values()], !this.jumpsChecked, this.proxyLoopback, this.dnatMasquerade);
      this.jumpsChecked = true;
    } catch (e) {
      this.jumpsChecked = false;
      throw e;
    }
  }

  private proxied(e: Endpoint) {
    return e.ports.filter((p) => p.proto === 'tcp' && (p.hostIp === '0.0.0.0' || p.hostIp.startsWith('127.')));
  }

  private async startProxies(s: NetworkState, e: Endpoint): Promise<void> {
    if (!this.proxyLoopback || s.config.internal) return;
    for (const p of this.proxied(e))
      await this.proxies.start(`${s.config.name}/${e.id}/${p.hostPort}`, p.hostPort, {
        ip: e.ip,
        port: p.containerPort,
      });
  }

  private async stopProxies(s: NetworkState, e: Endpoint): Promise<void> {
    for (const p of this.proxied(e)) await this.proxies.stop(`${s.config.name}/${e.id}/${p.hostPort}`);
  }

  has(name: string): boolean {
    return this.nets.has(name);
  }

  private allPorts() {
    return [...this.nets.values()].flatMap((n) => Object.values(n.endpoints).flatMap((e) => e.ports));
  }

  private async refreshDns(s: NetworkState): Promise<void> {
    if (!s.config.dns) return;
    const table = new Map<string, string[]>();
    for (const e of Object.values(s.endpoints)) {
      for (const n of new Set([e.name, ...e.aliases, e.id.slice(0, 12)])) table.set(n, [...(table.get(n) ?? []), e.ip]);
    }
    this.dns.setRecords(s.config.name, table);
    await this.dns.listen(s.config.name, s.config.gateway);
  }

  /** Subnets in use: our networks' and every route/address on the host. */
  private async usedSubnets(): Promise<{ cidr: Cidr; what: string; dev?: string }[]> {
    const out: { cidr: Cidr; what: string; dev?: string }[] = [...this.nets.values()].map((n) => ({
      cidr: parseCidr(n.config.subnet),
      what: `network ${n.config.name}`,
    }));
    const r = await run('ip', ['-j', '-4', 'route', 'show', 'table', 'all']);
    for (const rt of (r.code === 0 ? JSON.parse(r.stdout) : []) as { dst: string; dev?: string; type?: string }[]) {
      if (rt.dst === 'default' || (rt.type && rt.type !== 'unicast')) continue;
      try {
        out.push({
          cidr: parseCidr(rt.dst.includes('/') ? rt.dst : `${rt.dst}/32`, 'route', false),
          what: `route on ${rt.dev ?? '?'}`,
          dev: rt.dev,
        });
      } catch {
        /* not IPv4 */
      }
    }
    return out.map((u) => ({ ...u, cidr: { base: u.cidr.base, prefix: u.cidr.prefix } }));
  }
}

function netnsIno(path: string): number {
  try {
    return statSync(path).ino;
  } catch {
    return 0;
  }
}
