// The node's own address and where it lives, re-derived when the host's addresses or routes change
// (kubelet re-derives its node IP on every node status sync when --node-ip is not given; with it,
// it keeps the configured one and only checks that the host still has it).
// Choice without a configured address (kubelet's / k3s's ChooseHostInterface): the first global
// IPv4 of the default route's link; without a default route, the first global IPv4 of a link that
// is not a bridge, VXLAN or dummy device (those are the node's own: the pod bridge, the overlay,
// the service-range device).
// Detection: an `ip -4 -o monitor address route` child tells that something changed (no
// busy-poll; the check runs ~100 ms after a burst of events settles), and a periodic check (10 s,
// kubelet's node status frequency) backs it up: it catches a change while the monitor was being
// restarted and restarts a monitor that died. A check is two short `ip -j` calls.
import { type ChildProcess, spawn } from 'node:child_process';
import { failedPrecondition, type Logger } from '../common/index.js';
import { mustRun } from './exec.js';

export interface HostLink {
  ifname: string;
  mtu: number;
  kind?: string;
  /** Global IPv4 addresses, in the kernel's order (primary first). */
  addrs: string[];
}

/** The node's own device kinds: never the node address's link when choosing without a route. */
const OWN_KINDS = new Set(['bridge', 'vxlan', 'dummy']);

const ipArgs = (netns: string | undefined, args: string[]) => (netns ? ['-n', netns, ...args] : args);

/** Links with their global IPv4 addresses (in `netns` when given). */
export async function hostLinks(netns?: string): Promise<HostLink[]> {
  const out = JSON.parse(await mustRun('ip', ipArgs(netns, ['-d', '-j', '-4', 'addr', 'show']))) as {
    ifname: string;
    mtu: number;
    linkinfo?: { info_kind?: string };
    addr_info?: { local?: string; scope?: string }[];
  }[];
  return out.map((l) => ({
    ifname: l.ifname,
    mtu: l.mtu,
    kind: l.linkinfo?.info_kind,
    addrs: (l.addr_info ?? []).filter((a) => a.scope === 'global' && a.local).map((a) => a.local!),
  }));
}

/** The default route's link (the first IPv4 default route), if any. */
export async function defaultRouteLink(netns?: string): Promise<string | undefined> {
  const out = JSON.parse(await mustRun('ip', ipArgs(netns, ['-j', '-4', 'route', 'show', 'default']))) as {
    dev?: string;
  }[];
  return out.find((r) => r.dev)?.dev;
}

/** The address a node without --node-ip uses (see the header), or undefined when none fits. */
export function chooseNodeAddress(links: HostLink[], defaultDev?: string): string | undefined {
  const viaRoute = links.find((l) => l.ifname === defaultDev)?.addrs[0];
  if (viaRoute) return viaRoute;
  return links.find((l) => l.ifname !== 'lo' && !OWN_KINDS.has(l.kind ?? '') && l.addrs.length)?.addrs[0];
}

/** The link holding `addr`, if any. */
export function linkHolding(links: HostLink[], addr: string): HostLink | undefined {
  return links.find((l) => l.addrs.includes(addr));
}

export interface NodeAddressState {
  /** The address in use: the configured one, else the chosen one (the last known if none fits). */
  address: string;
  /** Its link (undefined: no link holds it). */
  link?: HostLink;
  /** True when the address was given (--node-ip): it never moves. */
  configured: boolean;
}

export interface NodeAddressOptions {
  /** --node-ip: kept whatever happens; its absence is reported, not acted on. */
  configured?: string;
  /** A network namespace (`ip netns` name) to watch instead of the process's own (tests). */
  netns?: string;
  /** The backing periodic check (ms, default 10000). */
  periodMs?: number;
  log?: Logger;
}

/** Watches the host's addresses and routes; tells `onChange` when the state changes. */
export class NodeAddressWatcher {
  private state?: NodeAddressState;
  private monitor?: ChildProcess;
  private timer?: NodeJS.Timeout;
  private debounce?: NodeJS.Timeout;
  private stopped = false;
  private checking = Promise.resolve();
  private listeners: ((s: NodeAddressState, was: NodeAddressState) => void)[] = [];

  constructor(private o: NodeAddressOptions = {}) {}

  /** The current state (after start). */
  get current(): NodeAddressState {
    if (!this.state) throw failedPrecondition('the node address watcher has not started');
    return this.state;
  }

  onChange(fn: (s: NodeAddressState, was: NodeAddressState) => void): void {
    this.listeners.push(fn);
  }

  /** Reads the state once (no watching). */
  async read(): Promise<NodeAddressState> {
    const links = await hostLinks(this.o.netns);
    if (this.o.configured)
      return { address: this.o.configured, link: linkHolding(links, this.o.configured), configured: true };
    const chosen = chooseNodeAddress(links, await defaultRouteLink(this.o.netns));
    const address = chosen ?? this.state?.address ?? '127.0.0.1';
    return { address, link: linkHolding(links, address), configured: false };
  }

  async start(): Promise<NodeAddressState> {
    this.state = await this.read();
    this.watch();
    this.timer = setInterval(() => {
      if (!this.monitor) this.watch();
      this.check();
    }, this.o.periodMs ?? 10_000);
    this.timer.unref();
    return this.state;
  }

  /** Checks now (serialised with other checks); resolves when done. */
  check(): Promise<void> {
    this.checking = this.checking
      .then(async () => {
        if (this.stopped) return;
        const next = await this.read();
        const was = this.state!;
        if (next.address === was.address && next.link?.ifname === was.link?.ifname && next.link?.mtu === was.link?.mtu)
          return;
        this.state = next;
        for (const fn of this.listeners) fn(next, was);
      })
      .catch((e) => this.o.log?.warn('node address: check failed', { error: (e as Error).message }));
    return this.checking;
  }

  private watch(): void {
    if (this.stopped) return;
    // `ip monitor` runs under a shell that ends it when its stdin (a pipe from this process) closes:
    // stop() closes it, and so does this process's death, even by SIGKILL — a bare `ip monitor`
    // outlived a killed agent until the next address event. (An asynchronous list's stdin is
    // /dev/null unless redirected, hence fd 3.)
    const child = spawn(
      'sh',
      [
        '-c',
        'exec 3<&0; "$@" </dev/null & p=$!; { read -r _ <&3; kill $p 2>/dev/null; } & wait $p',
        'sh',
        'ip',
        ...ipArgs(this.o.netns, ['-4', '-o', 'monitor', 'address', 'route']),
      ],
      { stdio: ['pipe', 'pipe', 'ignore'] },
    );
    this.monitor = child;
    child.stdin?.on('error', () => undefined); // (EPIPE once the shell is gone: nothing to end)
    child.stdout?.on('data', () => {
      clearTimeout(this.debounce);
      this.debounce = setTimeout(() => void this.check(), 100);
      this.debounce.unref();
    });
    child.on('error', (e) => this.o.log?.warn('node address: ip monitor failed', { error: e.message }));
    child.on('exit', () => {
      child.stdin?.destroy(); // (ends the shell's reader when `ip` ended by itself)
      if (this.monitor === child) this.monitor = undefined;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    clearTimeout(this.debounce);
    const m = this.monitor;
    this.monitor = undefined;
    if (m && m.exitCode === null && m.signalCode === null) {
      const gone = new Promise<void>((resolve) => m.once('exit', () => resolve()));
      m.stdin?.end();
      await gone;
    }
    await this.checking;
  }
}
