// Adapter from the engine's NetworkDriver (records shaped like Docker's network objects) to the
// NetworkManager. Structural: src/network may not import src/engine, so the record type is
// restated here with just the fields read. Predefined networks the engine never "creates" (the
// default `bridge`) are created lazily on first connect; `host` and `null` drivers are no-ops.
import { internal, invalidArgument, isSkiffError, newId } from '../common/index.js';
import { formatCidr, formatIp, parseCidr, parseIp } from './cidr.js';
import { run } from './exec.js';
import type { NetworkManager } from './manager.js';
import { parsePortSpec, type PortRequest } from './ports.js';
import type { Endpoint } from './state.js';

export interface DockerNetworkRecord {
  Name: string;
  Id: string;
  Driver: string;
  Internal: boolean;
  IPAM: { Config: { Subnet?: string; Gateway?: string; IPRange?: string }[] };
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

export interface DriverConnect {
  id: string;
  pid: number;
  aliases: string[];
  /** Container name without the leading slash (DNS name); defaults to the short id. */
  name?: string;
  /** From HostConfig.PortBindings / PublishAllPorts: see portRequests(). */
  ports?: PortRequest[];
  /** IPAMConfig.IPv4Address (static --ip). */
  ip?: string;
  /** Fixed MAC address (--mac-address), as aa:bb:cc:dd:ee:ff; derived from the address otherwise. */
  mac?: string;
  /** A namespace path (e.g. /run/netns/x) instead of the pid's (the builder's RUN sandboxes). */
  netns?: string;
}

export interface EndpointSettings {
  IPAddress: string;
  IPPrefixLen: number;
  Gateway: string;
  MacAddress: string;
  EndpointID: string;
  endpoint?: Endpoint;
}

export interface EngineDriverOptions {
  /** Interface name of the default `bridge` network (dockerd's --bridge; default skiff0). */
  defaultBridge?: string;
  /** Gateway address and prefix of the default bridge (dockerd's --bip, e.g. 10.99.0.1/24);
   *  without it a pool free of host routes is picked. */
  bip?: string;
}

export function createEngineDriver(m: NetworkManager, o: EngineDriverOptions = {}) {
  const wired = (n: DockerNetworkRecord): boolean => n.Driver === 'bridge';
  const bip = o.bip ? parseCidr(o.bip, 'bip', false) : undefined;
  if (bip && bip.prefix > 30) throw invalidArgument(`bip: ${o.bip} is too small a subnet`, { field: 'bip' });
  // the gateway is the address as written (parseCidr keeps only the network part)
  const bipGateway = o.bip ? parseIp(o.bip.split('/')[0], 'bip') : 0;
  async function ensure(n: DockerNetworkRecord): Promise<void> {
    const isDefault = n.Options?.['com.docker.network.bridge.default_bridge'] === 'true';
    if (isDefault && o.defaultBridge) n.Options = { ...n.Options, 'com.docker.network.bridge.name': o.defaultBridge };
    if (m.has(n.Name)) return;
    const cfg = n.IPAM.Config?.[0] ?? {};
    const mask = bip ? (bip.prefix === 0 ? 0 : (0xffffffff << (32 - bip.prefix)) >>> 0) : 0;
    const c = await m.create({
      name: n.Name,
      bridge: n.Options?.['com.docker.network.bridge.name'] || `br-${n.Id.slice(0, 12)}`,
      // the default bridge's preset subnet is only a wish (a free pool is picked) unless --bip says
      subnet: isDefault
        ? bip
          ? formatCidr({ base: (bip.base & mask) >>> 0, prefix: bip.prefix })
          : undefined
        : cfg.Subnet,
      gateway: isDefault ? (bip ? formatIp(bipGateway) : undefined) : cfg.Gateway,
      ipRange: cfg.IPRange,
      internal: n.Internal,
      labels: n.Labels,
      dns: !isDefault,
      adopt: isDefault, // an existing skiff0 is taken over, as dockerd takes over docker0
    });
    // moby's IPAMConfig fields are all `omitempty`: what a client sent as null or empty (docker-py
    // sends IPRange/AuxiliaryAddresses null) is left out, not echoed back.
    const kept = Object.fromEntries(
      Object.entries(cfg).filter(
        ([, v]) => v !== null && v !== '' && !(typeof v === 'object' && !Object.keys(v).length),
      ),
    );
    n.IPAM.Config = [{ ...kept, Subnet: c.subnet, Gateway: c.gateway, ...(c.ipRange ? { IPRange: c.ipRange } : {}) }];
  }
  return {
    async create(n: DockerNetworkRecord): Promise<void> {
      if (wired(n)) await ensure(n);
    },
    async remove(n: DockerNetworkRecord): Promise<void> {
      if (wired(n) && m.has(n.Name)) {
        await m.sweep();
        await m.remove(n.Name);
      }
    },
    async connect(n: DockerNetworkRecord, c: DriverConnect): Promise<EndpointSettings> {
      if (!wired(n)) {
        // `none` (and any driver we do not wire): the container's own namespace with loopback up
        const ns = c.netns ?? (c.pid ? `/proc/${c.pid}/ns/net` : '');
        if (n.Driver !== 'host' && ns) await run('nsenter', [`--net=${ns}`, 'ip', 'link', 'set', 'lo', 'up']);
        return {
          IPAddress: '',
          IPPrefixLen: 0,
          Gateway: '',
          MacAddress: '',
          EndpointID: newId(),
        };
      }
      await ensure(n);
      const s = m.inspect(n.Name);
      if (s.endpoints[c.id]) await m.disconnect(n.Name, c.id); // a restart: the old namespace is gone
      const endpointId = `${c.id}-${n.Id}`.slice(0, 64);
      const e = await m
        .connect(n.Name, {
          id: c.id,
          name: c.name,
          aliases: c.aliases,
          netns: c.netns ?? c.pid,
          ports: c.ports,
          ip: c.ip,
          mac: c.mac,
        })
        .catch((err: unknown) => {
          // A host port that cannot be had fails the start as dockerd's does: a 500 naming the endpoint.
          if (!isSkiffError(err) || err.field !== 'ports') throw err;
          throw internal(
            `driver failed programming external connectivity on endpoint ${c.name ?? c.id} (${endpointId}): ${err.message}`,
            { field: 'ports', cause: err },
          );
        });
      return {
        IPAddress: e.ip,
        IPPrefixLen: Number(s.config.subnet.split('/')[1]),
        Gateway: s.config.internal ? '' : s.config.gateway,
        MacAddress: e.mac,
        EndpointID: endpointId,
        endpoint: e,
      };
    },
    async disconnect(n: DockerNetworkRecord, c: { id: string }): Promise<void> {
      if (!wired(n) || !m.has(n.Name) || !m.inspect(n.Name).endpoints[c.id]) return;
      await m.disconnect(n.Name, c.id);
    },
  };
}

/** HostConfig.PortBindings (+ PublishAllPorts over ExposedPorts) → port requests. */
export function portRequests(
  bindings: Record<string, { HostIp?: string; HostPort?: string }[] | null> | null | undefined,
  publishAll?: boolean,
  exposed?: Record<string, unknown> | null,
): PortRequest[] {
  const out: PortRequest[] = [];
  for (const [k, list] of Object.entries(bindings ?? {})) {
    const base = parsePortSpec(k, `HostConfig.PortBindings.${k}`);
    for (const b of list?.length ? list : [{}]) {
      const bad = (): never => {
        throw invalidArgument(`HostConfig.PortBindings.${k}: invalid host port "${b.HostPort}"`, {
          field: `HostConfig.PortBindings.${k}`,
        });
      };
      // "" and "0": any free port; "A-B": the first free one of the range
      const [lo, hi = lo] = b.HostPort && b.HostPort !== '0' ? b.HostPort.split('-').map(Number) : [];
      if (lo !== undefined && [lo, hi].some((x) => !Number.isInteger(x) || x < 1 || x > 65535)) bad();
      if (hi < lo) bad();
      out.push({ ...base, hostIp: b.HostIp || undefined, hostPort: lo, ...(hi > lo ? { hostPortEnd: hi } : {}) });
    }
  }
  if (publishAll)
    for (const k of Object.keys(exposed ?? {}))
      if (!(k in (bindings ?? {}))) out.push(parsePortSpec(k, `ExposedPorts.${k}`));
  return out;
}
