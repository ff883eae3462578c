// The networks service's records: the predefined bridge, host and none networks and user networks,
// persisted in DATA_ROOT/networks.json; list/inspect/create/remove/prune and the endpoint checks a
// container's create needs. Container endpoints (connect, attach, detach) are in networks.ts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { conflict, internal, invalidArgument, notFound, writeFileAtomic, newId } from '../../common/index.js';
import { matchLabels, validateFilters, filterBool, type Filters } from './common/filters.js';
import type { EngineContext } from './context.js';
import { parseEventTime } from '../events.js';
import type { NetworkEndpoint } from './containers/record.js';
import {
  cleared,
  isDefaultBridge,
  nullDriver,
  PREDEFINED,
  staticIp,
  type ContainerLink,
  type NetworkDriver,
  type NetworkRecord,
} from './network-types.js';

export abstract class NetworkStore {
  protected nets = new Map<string, NetworkRecord>();
  protected readonly file: string;
  private link?: ContainerLink;
  constructor(
    protected readonly ctx: EngineContext,
    protected readonly driver: NetworkDriver = nullDriver,
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

  protected get containers(): ContainerLink {
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

  protected save(): void {
    writeFileAtomic(this.file, JSON.stringify({ networks: [...this.nets.values()] }));
  }

  count(): number {
    return this.nets.size;
  }

  /** Whether `ref` names a network (find would return one, or refuse it as ambiguous). */
  private has(ref: string): boolean {
    return [...this.nets.values()].some((n) => n.Name === ref || n.Id.startsWith(ref));
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

  protected users(n: NetworkRecord): string[] {
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

  protected checkStaticIp(n: NetworkRecord, ep: NetworkEndpoint): void {
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
      // An unknown network (the mode or an endpoint's) is taken at create and refused at start (404
      // "network X not found", from attach), as dockerd does: its endpoint is kept under the name given.
      if (!this.has(ref === 'default' ? 'bridge' : ref)) {
        const ep = out[ref] ?? { Aliases: null, NetworkID: '', ...cleared, IPAMConfig: null };
        if (cfg?.Aliases?.length) ep.Aliases = [...new Set([...(ep.Aliases ?? []), ...cfg.Aliases])];
        out[ref] = ep;
        continue;
      }
      const n = lookup(ref);
      const ep: NetworkEndpoint = out[n.Name] ?? { Aliases: null, NetworkID: '', ...cleared, IPAMConfig: null };
      if (cfg?.Aliases?.length) ep.Aliases = [...new Set([...(ep.Aliases ?? []), ...cfg.Aliases])];
      if (cfg?.IPAMConfig) ep.IPAMConfig = cfg.IPAMConfig;
      this.checkStaticIp(n, ep);
      out[n.Name] = ep;
    }
    return out;
  }

  /** Removes the unused non-predefined networks created before `until`, with the `label` filters and
   *  without the `label!` ones (the filters moby's network prune accepts; any other is refused). */
  async prune(f: Filters): Promise<{ NetworksDeleted: string[] | null }> {
    validateFilters(f, ['until', 'label', 'label!']);
    const until = f.until?.length ? parseEventTime(f.until[0]) : undefined;
    if (f.until?.length && until === undefined)
      throw invalidArgument(`Invalid filter 'until=${f.until[0]}'`, { field: 'filters.until' });
    const notLabel = f['label!'] ?? [];
    const out: string[] = [];
    for (const n of [...this.nets.values()]) {
      if (PREDEFINED.includes(n.Name) || this.users(n).length || !matchLabels(n.Labels, f.label)) continue;
      if (until !== undefined && Date.parse(n.Created) / 1000 > until) continue;
      if (notLabel.some((l) => matchLabels(n.Labels, [l]))) continue;
      await this.remove(n.Id).then(
        () => out.push(n.Name),
        () => undefined,
      );
    }
    return { NetworksDeleted: out.length ? out : null };
  }
}
