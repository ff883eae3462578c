// Container networking shared by the engine and the node agent: bridges, veths, host-local IPAM,
// NAT and published ports (iptables, chains of our own), the embedded DNS and per-container
// /etc files. See docs/network.md.
export { NetworkManager, type ManagerOptions, type CreateOptions, type ConnectOptions } from './manager.js';
export type { Endpoint, NetworkConfig, NetworkState, PortMapping } from './state.js';
export { parsePortSpec, type PortRequest } from './ports.js';
export { DnsServer, hostResolvers } from './dns.js';
export { listenDns, type DnsHandler, type DnsListener } from './dns-transport.js';
export { hostsFile, resolvConf, hostnameFile, type HostsOptions, type ResolvOptions } from './files.js';
export { parseCidr, formatCidr, parseIp, formatIp, overlaps } from './cidr.js';
export { render as renderRules, chainsFor } from './rules.js';
export {
  createEngineDriver,
  portRequests,
  type EngineDriverOptions,
  type DockerNetworkRecord,
  type DriverConnect,
  type EndpointSettings,
} from './driver.js';
export { run, mustRun, type RunResult } from './exec.js';
export {
  NodeAddressWatcher,
  chooseNodeAddress,
  hostLinks,
  linkHolding,
  defaultRouteLink,
  type HostLink,
  type NodeAddressState,
  type NodeAddressOptions,
} from './host-address.js';
