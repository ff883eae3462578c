// Networks API surface: list/inspect/create/remove/connect/disconnect/prune with the predefined
// bridge, host and none networks, persisted in DATA_ROOT/networks.json. The data plane is a
// `NetworkDriver`: `skiff engine` plugs in src/network's (bridges, veths, IPAM, published ports,
// embedded DNS); the `null` driver (engines composed without one) records endpoints only.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { conflict, createLogger, internal, invalidArgument, logFailure, newId } from '../../common/index.js';
import { notFound, writeFileAtomic } from '../../common/index.js';
import { hostResolvers, portRequests, resolvConf } from '../../network/index.js';
import { matchLabels, validateFilters, filterBool, type Filters } from './common/filters.js';
import type { EngineContext, NetworksService } from './context.js';
import type { ContainerRecord, NetworkEndpoint } from './containers/record.js';

const log = createLogger({ component: 'engine.networks' });

/** What a started container's /etc files need from its first network. */
export interface AttachResult {
  ip: string;
  names: string[];
  dnsServer?: string;
}

export interface NetworkRecord {
  Name: string;
  Id: string;
  Created: string;
  Scope: 'local';
  Driver: string;
  EnableIPv6: boolean;
  IPAM: {
    Driver: string;
    Options: Record<string, string> | null;
    Config: { Subnet?: string; Gateway?: string; IPRange?: string }[];
  };
  Internal: boolean;
  Attachable: boolean;
  Ingress: boolean;
  ConfigFrom: { Network: string };
  ConfigOnly: boolean;
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

export interface PublishedPort {
  hostIp: string;
  hostPort: number;
  containerPort: number;
  proto: 'tcp' | 'udp';
}
export interface PortRequest {
  hostIp?: string;
  hostPort?: number;
  containerPort: number;
  proto: 'tcp' | 'udp';
}

export interface DriverConnectRequest {
  id: string;
  pid: number;
  aliases: string[];
  /** Container name without the slash (its DNS name). */
  name?: string;
  ports?: PortRequest[];
  /** Static address (EndpointConfig.IPAMConfig.IPv4Address). */
  ip?: string;
  /** A namespace path used instead of the pid's (build sandboxes). */
  netns?: string;
}

export interface DriverEndpoint {
  IPAddress: string;
  IPPrefixLen: number;
  Gateway: string;
  MacAddress: string;
  EndpointID: string;
  endpoint?: { ports: PublishedPort[] };
}

/** The data plane: what src/network implements (bridges, veths, IPAM, port mapping, DNS). */
export interface NetworkDriver {
  create(n: NetworkRecord): Promise<void>;
  remove(n: NetworkRecord): Promise<void>;
  /** Wires a container (its netns at /proc/<pid>/ns/net); returns its endpoint settings. */
  connect(n: NetworkRecord, c: DriverConnectRequest): Promise<DriverEndpoint>;
  disconnect(n: NetworkRecord, c: { id: string; pid?: number }): Promise<void>;
}

/** Records only: no interfaces, no addresses (the networking issue replaces it). */
export const nullDriver: NetworkDriver = {
  async create() {},
  async remove() {},
  async connect(n, c) {
    // The container's own namespace gets a working loopback, as libnetwork sets it up.
    if (n.Driver !== 'host' && c.pid)
      await run('nsenter', ['-t', String(c.pid), '-n', 'ip', 'link', 'set', 'lo', 'up']).catch(
        logFailure(log, 'could not bring up lo', { pid: c.pid }),
      );
    return { IPAddress: '', IPPrefixLen: 0, Gateway: '', MacAddress: '', EndpointID: newId() };
  },
  async disconnect() {},
};

const PREDEFINED = ['bridge', 'host', 'none'];
const run = promisify(execFile);

/** What networks need from the containers service. */
export interface ContainerLink {
  all(): ContainerRecord[];
  get(ref: string): ContainerRecord;
  persist(id: string): void;
}

const isDefaultBridge = (n: NetworkRecord): boolean =>
  n.Options?.['com.docker.network.bridge.default_bridge'] === 'true';
const staticIp = (ep: NetworkEndpoint): string | undefined =>
  (ep.IPAMConfig as { IPv4Address?: string } | null | undefined)?.IPv4Address || undefined;
const hostResolvConf = (): string => resolvConf({ dns: hostResolvers() });
const cleared = { EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, MacAddress: '' };

export class Networks implements NetworksService {
  private nets = new Map<string, NetworkRecord>();
  private readonly file: string;
  private link?: ContainerLink;
  constructor(
    private readonly ctx: EngineContext,
    private readonly driver: NetworkDriver = nullDriver,
  ) {
    this.file = join(ctx.root, 'networks.json');
  }

  init(): this {
    try {
      for (const n of JSON.parse(readFileSync(this.file, 'utf8')).networks as NetworkRecord[]) this.nets.set(n.Id, n);
    } catch {
      /* first start */
    }
    for (const name of PREDEFINED) {
      if (![...this.nets.values()].some((n) => n.Name === name)) {
        const rec = this.record(name, name === 'bridge' ? 'bridge' : name === 'host' ? 'host' : 'null', {});
        if (name === 'bridge') rec.IPAM.Config = [{ Subnet: '172.17.0.0/16', Gateway: '172.17.0.1' }];
        if (name === 'bridge')
          rec.Options = {
            'com.docker.network.bridge.default_bridge': 'true',
            'com.docker.network.bridge.name': 'skiff0',
          };
        this.nets.set(rec.Id, rec);
      }
    }
    this.save();
    return this;
  }

  /** Engine start: the default bridge exists (created or reconciled by the driver) before any
   *  container starts, and its real subnet is what `docker network inspect bridge` shows. */
  async start(): Promise<void> {
    const bridge = [...this.nets.values()].find((n) => n.Name === 'bridge');
    if (bridge) await this.driver.create(bridge);
    this.save();
  }

  /** The containers service (made after this one: it needs the networks); set once by the daemon. */
  bindContainers(link: ContainerLink): void {
    this.link = link;
  }

  private get containers(): ContainerLink {
    if (!this.link) throw internal('the networks service is used before the containers are bound to it');
    return this.link;
  }

  private record(name: string, driver: string, b: Record<string, unknown>): NetworkRecord {
    const ipam = (b.IPAM ?? {}) as {
      Driver?: string;
      Options?: Record<string, string> | null;
      Config?: { Subnet?: string; Gateway?: string }[] | null;
    };
    return {
      Name: name,
      Id: newId(),
      Created: new Date().toISOString(),
      Scope: 'local',
      Driver: driver,
      EnableIPv6: !!b.EnableIPv6,
      IPAM: { Driver: ipam.Driver || 'default', Options: ipam.Options ?? null, Config: ipam.Config ?? [] },
      Internal: !!b.Internal,
      Attachable: !!b.Attachable,
      Ingress: false,
      ConfigFrom: { Network: '' },
      ConfigOnly: false,
      Options: (b.Options as Record<string, string>) ?? {},
      Labels: (b.Labels as Record<string, string>) ?? {},
    };
  }

  private save(): void {
    writeFileAtomic(this.file, JSON.stringify({ networks: [...this.nets.values()] }));
  }

  count(): number {
    return this.nets.size;
  }

  find(ref: string): NetworkRecord {
    for (const n of this.nets.values()) if (n.Name === ref || n.Id === ref) return n;
    const hits = [...this.nets.values()].filter((n) => n.Id.startsWith(ref));
    if (hits.length === 1) return hits[0];
    if (hits.length > 1)
      throw invalidArgument(`network ${ref} is ambiguous (${hits.length} matches found based on ID prefix)`, {
        field: 'id',
      });
    throw notFound(`network ${ref} not found`, { field: 'id' });
  }

  view(n: NetworkRecord, verbose = true): Record<string, unknown> {
    const containers: Record<string, unknown> = {};
    if (verbose)
      for (const c of this.containers.all()) {
        const ep = c.Networks[n.Name];
        if (ep && c.State.Running)
          containers[c.Id] = {
            Name: c.Name.slice(1),
            EndpointID: ep.EndpointID,
            MacAddress: ep.MacAddress,
            IPv4Address: ep.IPAddress ? `${ep.IPAddress}/${ep.IPPrefixLen}` : '',
            IPv6Address: '',
          };
      }
    return { ...n, EnableIPv4: true, Containers: containers };
  }

  list(f: Filters): Record<string, unknown>[] {
    validateFilters(f, ['name', 'id', 'label', 'driver', 'type', 'scope', 'dangling']);
    const dangling = filterBool(f, 'dangling');
    return [...this.nets.values()]
      .filter((n) => {
        if (f.name?.length && !f.name.some((x) => n.Name.includes(x))) return false;
        if (f.id?.length && !f.id.some((x) => n.Id.startsWith(x))) return false;
        if (!matchLabels(n.Labels, f.label)) return false;
        if (f.driver?.length && !f.driver.includes(n.Driver)) return false;
        if (f.scope?.length && !f.scope.includes('local')) return false;
        if (f.type?.length && !f.type.includes(PREDEFINED.includes(n.Name) ? 'builtin' : 'custom')) return false;
        if (dangling !== undefined && dangling !== (!PREDEFINED.includes(n.Name) && !this.users(n).length))
          return false;
        return true;
      })
      .map((n) => this.view(n));
  }

  private users(n: NetworkRecord): string[] {
    return this.containers
      .all()
      .filter((c) => n.Name in c.Networks)
      .map((c) => c.Id);
  }

  async create(b: Record<string, unknown> | undefined): Promise<{ Id: string; Warning: string }> {
    const name = b?.Name;
    if (typeof name !== 'string' || !name) throw invalidArgument('Name: network name is required', { field: 'Name' });
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(name))
      throw invalidArgument(`Name: invalid network name "${name}"`, { field: 'Name' });
    const driver = typeof b!.Driver === 'string' && b!.Driver ? b!.Driver : 'bridge';
    if (!['bridge', 'macvlan', 'ipvlan', 'overlay', 'null', 'host'].includes(driver))
      throw notFound(`plugin "${driver}" not found`, { field: 'Driver' });
    if (PREDEFINED.includes(name))
      throw invalidArgument(`${name} is a pre-defined network and cannot be created`, {
        field: 'Name',
        reason: 'Forbidden',
      });
    if ([...this.nets.values()].some((n) => n.Name === name))
      throw conflict(`network with name ${name} already exists`, { field: 'Name' });
    const rec = this.record(name, driver, b!);
    await this.driver.create(rec);
    this.nets.set(rec.Id, rec);
    this.save();
    this.ctx.events.emit({
      Type: 'network',
      Action: 'create',
      id: rec.Id,
      attributes: { name, type: driver, ...rec.Labels },
    });
    return { Id: rec.Id, Warning: '' };
  }

  async remove(ref: string): Promise<void> {
    const n = this.find(ref);
    if (PREDEFINED.includes(n.Name))
      throw invalidArgument(`${n.Name} is a pre-defined network and cannot be removed`, {
        field: 'id',
        reason: 'Forbidden',
      });
    const users = this.users(n).filter((id) => {
      try {
        return this.containers.get(id).State.Running;
      } catch {
        return false;
      }
    });
    if (users.length)
      throw conflict(`error while removing network: network ${n.Name} id ${n.Id} has active endpoints`, {
        field: 'id',
      });
    for (const id of this.users(n)) {
      const c = this.containers.get(id);
      delete c.Networks[n.Name];
      this.containers.persist(id);
    }
    await this.driver.remove(n);
    this.nets.delete(n.Id);
    this.save();
    this.ctx.events.emit({
      Type: 'network',
      Action: 'destroy',
      id: n.Id,
      attributes: { name: n.Name, type: n.Driver },
    });
  }

  async connect(
    ref: string,
    b:
      | {
          Container?: string;
          EndpointConfig?: { Aliases?: string[] | null; IPAMConfig?: { IPv4Address?: string } | null } | null;
        }
      | undefined,
  ): Promise<void> {
    const n = this.find(ref);
    if (!b?.Container) throw invalidArgument('Container: a container is required', { field: 'Container' });
    const c = this.containers.get(b.Container);
    if (n.Name in c.Networks)
      throw invalidArgument(`endpoint with name ${c.Name.slice(1)} already exists in network ${n.Name}`, {
        field: 'Container',
        reason: 'Forbidden',
      });
    const mode = String(c.HostConfig.NetworkMode ?? '');
    if (mode === 'host' || n.Name === 'host')
      throw invalidArgument('container cannot be disconnected from host network or connected to host network', {
        field: 'Container',
      });
    if (mode === 'none' || n.Name === 'none')
      throw invalidArgument(
        'container cannot be connected to multiple networks with one of the networks in private (none) mode',
        { field: 'Container' },
      );
    if (mode.startsWith('container:'))
      throw invalidArgument("conflicting options: container type network can't be used with other networks", {
        field: 'Container',
      });
    const ep: NetworkEndpoint = {
      Aliases: b.EndpointConfig?.Aliases ?? null,
      NetworkID: n.Id,
      ...cleared,
      IPAMConfig: b.EndpointConfig?.IPAMConfig ?? null,
    };
    this.checkStaticIp(n, ep);
    if (c.State.Running && c.State.Pid) {
      const r = await this.driver.connect(n, {
        id: c.Id,
        pid: c.State.Pid,
        aliases: ep.Aliases ?? [],
        name: c.Name.slice(1),
        ip: staticIp(ep),
      });
      Object.assign(ep, {
        IPAddress: r.IPAddress,
        IPPrefixLen: r.IPPrefixLen,
        Gateway: r.Gateway,
        MacAddress: r.MacAddress,
        EndpointID: r.EndpointID,
      });
      this.save(); // the driver may have written the chosen subnet back
    }
    c.Networks[n.Name] = ep;
    this.containers.persist(c.Id);
    this.ctx.events.emit({
      Type: 'network',
      Action: 'connect',
      id: n.Id,
      attributes: { container: c.Id, name: n.Name, type: n.Driver },
    });
  }

  async disconnect(ref: string, b: { Container?: string; Force?: boolean } | undefined): Promise<void> {
    const n = this.find(ref);
    if (!b?.Container) throw invalidArgument('Container: a container is required', { field: 'Container' });
    const c = this.containers.get(b.Container);
    if (!(n.Name in c.Networks))
      throw invalidArgument(`container ${c.Id} is not connected to network ${n.Name}`, {
        field: 'Container',
        reason: 'Forbidden',
      });
    if (n.Name === 'host' || c.HostConfig.NetworkMode === 'host')
      throw invalidArgument('container cannot be disconnected from host network or connected to host network', {
        field: 'Container',
      });
    if (c.State.Running) await this.driver.disconnect(n, { id: c.Id, pid: c.State.Pid });
    delete c.Networks[n.Name];
    this.containers.persist(c.Id);
    this.ctx.events.emit({
      Type: 'network',
      Action: 'disconnect',
      id: n.Id,
      attributes: { container: c.Id, name: n.Name, type: n.Driver },
    });
  }

  private checkStaticIp(n: NetworkRecord, ep: NetworkEndpoint): void {
    if (staticIp(ep) && (isDefaultBridge(n) || n.Driver !== 'bridge')) {
      throw invalidArgument('user specified IP address is supported on user defined networks only', {
        field: 'IPAMConfig.IPv4Address',
      });
    }
  }

  /** The default bridge's gateway: what an ExtraHosts "name:host-gateway" resolves to. */
  defaultGateway(): string | undefined {
    return this.find('bridge').IPAM.Config[0]?.Gateway;
  }

  /** A new container's endpoints: its NetworkMode's network first, then the other EndpointsConfig
   *  entries, keyed by network name (`default` is `bridge`). Unknown networks and static IPs
   *  outside user networks are InvalidArgument (400: a 404 would make the CLI pull the image). */
  endpointsFor(
    mode: string,
    eps: Record<string, { Aliases?: string[] | null; IPAMConfig?: unknown } | null | undefined>,
  ): Record<string, NetworkEndpoint> {
    const out: Record<string, NetworkEndpoint> = {};
    const lookup = (ref: string): NetworkRecord => {
      try {
        return this.find(ref === 'default' ? 'bridge' : ref);
      } catch (e) {
        throw invalidArgument(`network ${ref} not found`, { field: 'HostConfig.NetworkMode', cause: e });
      }
    };
    for (const [ref, cfg] of [[mode, eps[mode]] as const, ...Object.entries(eps)]) {
      const n = lookup(ref);
      const ep: NetworkEndpoint = out[n.Name] ?? { Aliases: null, NetworkID: '', ...cleared, IPAMConfig: null };
      if (cfg?.Aliases?.length) ep.Aliases = [...new Set([...(ep.Aliases ?? []), ...cfg.Aliases])];
      if (cfg?.IPAMConfig) ep.IPAMConfig = cfg.IPAMConfig;
      this.checkStaticIp(n, ep);
      out[n.Name] = ep;
    }
    return out;
  }

  /** A starting container (created in the runtime, process not yet running): connects its
   *  namespace to each of its networks, publishes its ports on the first bridge network and fills
   *  the endpoint settings. All or nothing: a failure disconnects what was connected. */
  async attach(c: ContainerRecord, pid: number): Promise<AttachResult | undefined> {
    const done: NetworkRecord[] = [];
    let first: AttachResult | undefined;
    let ports = portRequests(c.HostConfig.PortBindings, !!c.HostConfig.PublishAllPorts, c.Config.ExposedPorts);
    c.PublishedPorts = undefined;
    try {
      for (const [name, ep] of Object.entries(c.Networks)) {
        const n = this.find(name);
        this.checkStaticIp(n, ep);
        const wired = n.Driver === 'bridge';
        const aliases = ep.Aliases ?? [];
        const r = await this.driver.connect(n, {
          id: c.Id,
          pid,
          aliases,
          name: c.Name.slice(1),
          ip: staticIp(ep),
          ports: wired ? ports : undefined,
        });
        done.push(n);
        if (wired) {
          c.PublishedPorts = r.endpoint?.ports;
          ports = [];
        }
        Object.assign(ep, {
          IPAddress: r.IPAddress,
          IPPrefixLen: r.IPPrefixLen,
          Gateway: r.Gateway,
          MacAddress: r.MacAddress,
          EndpointID: r.EndpointID,
          NetworkID: n.Id,
        });
        if (!first && r.IPAddress) {
          const user = wired && !isDefaultBridge(n);
          first = {
            ip: r.IPAddress,
            names: user ? [c.Name.slice(1), ...aliases] : [],
            dnsServer: user ? n.IPAM.Config[0]?.Gateway : undefined,
          };
        }
      }
    } catch (e) {
      for (const n of done)
        await this.driver
          .disconnect(n, { id: c.Id, pid })
          .catch(logFailure(log, 'rollback: disconnect failed', { id: c.Id, network: n.Name }));
      for (const ep of Object.values(c.Networks)) Object.assign(ep, cleared);
      c.PublishedPorts = undefined;
      throw e;
    }
    if (done.some((n) => n.Name === 'bridge')) this.save();
    // As dockerd: a starting container connects to each of its networks (and disconnects at exit).
    for (const n of done) this.endpointEvent('connect', n, c.Id);
    return first;
  }

  private endpointEvent(action: 'connect' | 'disconnect', n: NetworkRecord, container: string): void {
    this.ctx.events.emit({
      Type: 'network',
      Action: action,
      id: n.Id,
      attributes: { container, name: n.Name, type: n.Driver },
    });
  }

  /** A stopped or removed container: releases its addresses, ports and DNS names. Never throws
   *  (exit paths must complete); failures are logged. */
  async detach(c: ContainerRecord): Promise<void> {
    for (const [name, ep] of Object.entries(c.Networks)) {
      const n = [...this.nets.values()].find((x) => x.Name === name);
      if (n)
        await this.driver
          .disconnect(n, { id: c.Id })
          .catch((e) =>
            log.warn('network disconnect failed', { id: c.Id, network: name, error: (e as Error).message }),
          );
      const wasUp = !!ep.EndpointID;
      Object.assign(ep, cleared);
      if (n && wasUp) this.endpointEvent('disconnect', n, c.Id);
    }
    c.PublishedPorts = undefined;
  }

  /** The builder's RUN sandbox: a named network namespace (`ip netns add`) on the default bridge,
   *  with the resolv.conf a container there gets; `release()` disconnects and deletes it. */
  async sandbox(id: string): Promise<{ netns: string; resolvConf: string; release(): Promise<void> }> {
    const name = `skiff-${id}`;
    const netns = `/run/netns/${name}`;
    const n = this.find('bridge');
    const epId = `build-${id}`;
    await run('ip', ['netns', 'add', name]);
    try {
      await this.driver.connect(n, { id: epId, pid: 0, netns, aliases: [] });
    } catch (e) {
      await run('ip', ['netns', 'del', name]).catch(logFailure(log, 'could not delete a netns', { netns: name }));
      throw e;
    }
    this.save();
    const release = async (): Promise<void> => {
      await this.driver
        .disconnect(n, { id: epId })
        .catch((e) => log.warn('build sandbox disconnect failed', { id, error: (e as Error).message }));
      await run('ip', ['netns', 'del', name]).catch(logFailure(log, 'could not delete a netns', { netns: name }));
    };
    return { netns, resolvConf: hostResolvConf(), release };
  }

  async prune(f: Filters): Promise<{ NetworksDeleted: string[] | null }> {
    const out: string[] = [];
    for (const n of [...this.nets.values()]) {
      if (PREDEFINED.includes(n.Name) || this.users(n).length || !matchLabels(n.Labels, f.label)) continue;
      await this.remove(n.Id).then(
        () => out.push(n.Name),
        () => undefined,
      );
    }
    return { NetworksDeleted: out.length ? out : null };
  }
}
