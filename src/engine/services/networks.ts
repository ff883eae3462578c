// Networks API surface: list/inspect/create/remove/connect/disconnect/prune with the predefined
// bridge, host and none networks, persisted in DATA_ROOT/networks.json. The data plane is a
// `NetworkDriver`: `skiff engine` plugs in src/network's (bridges, veths, IPAM, published ports,
// embedded DNS); the `null` driver (engines composed without one) records endpoints only.
// This file: container endpoints (connect/disconnect, attach at start, detach at exit, the
// builder's RUN sandbox); the records are network-store.ts, the types network-types.ts.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createLogger, internal, invalidArgument, logFailure } from '../../common/index.js';
import { hostResolvers, portRequests, resolvConf } from '../../network/index.js';
import type { NetworksService } from './context.js';
import type { ContainerRecord, NetworkEndpoint } from './containers/record.js';
import { NetworkStore } from './network-store.js';
import { cleared, isDefaultBridge, staticIp, type AttachResult, type NetworkRecord } from './network-types.js';

export * from './network-types.js';

const log = createLogger({ component: 'engine.networks' });
const run = promisify(execFile);
const hostResolvConf = (): string => resolvConf({ dns: hostResolvers() });

export class Networks extends NetworkStore implements NetworksService {
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
          mac: name === c.HostConfig.NetworkMode ? fixedMac(c.Config.MacAddress) : undefined,
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
}

/** Config.MacAddress as the interface takes it: Go's net.ParseMAC forms of 6 bytes (aa:bb:…,
 *  aa-bb-…, aabb.ccdd.eeff), refused at start with dockerd's message (it takes any at create). */
function fixedMac(mac: string | undefined): string | undefined {
  if (!mac) return undefined;
  const hex = /^([0-9a-f]{2}([:-])){5}[0-9a-f]{2}$/i.test(mac)
    ? mac.replace(/[:-]/g, '')
    : /^([0-9a-f]{4}\.){2}[0-9a-f]{4}$/i.test(mac)
      ? mac.replace(/\./g, '')
      : undefined;
  if (!hex) throw internal(`address ${mac}: invalid MAC address`, { field: 'Config.MacAddress' });
  return hex.toLowerCase().replace(/(..)(?!$)/g, '$1:');
}
