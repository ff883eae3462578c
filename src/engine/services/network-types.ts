// The networks service's records and its data-plane interface (`NetworkDriver`, with the `null`
// driver for engines composed without one), and small helpers both halves of the service share.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { createLogger, logFailure, newId } from '../../common/index.js';
import type { DriverConnect, PortRequest } from '../../network/index.js';
import type { ContainerRecord, NetworkEndpoint } from './containers/record.js';

export type { PortRequest };

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

/** What connecting a container asks of the driver: the network library's own request, so a field
 *  added there (e.g. the MAC address) needs no copy here. */
export type DriverConnectRequest = DriverConnect;

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

const log = createLogger({ component: 'engine.networks' });
const run = promisify(execFile);

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

export const PREDEFINED = ['bridge', 'host', 'none'];

/** What networks need from the containers service. */
export interface ContainerLink {
  all(): ContainerRecord[];
  get(ref: string): ContainerRecord;
  persist(id: string): void;
}

export const isDefaultBridge = (n: NetworkRecord): boolean =>
  n.Options?.['com.docker.network.bridge.default_bridge'] === 'true';
export const staticIp = (ep: NetworkEndpoint): string | undefined =>
  (ep.IPAMConfig as { IPv4Address?: string } | null | undefined)?.IPv4Address || undefined;
export const cleared = { EndpointID: '', Gateway: '', IPAddress: '', IPPrefixLen: 0, MacAddress: '' };
