// Host-local address allocation over a network's endpoints: the lowest free address of the
// ip-range (or subnet), skipping network, broadcast and gateway addresses.
import { conflict, invalidArgument, unavailable } from '../common/index.js';
import { contains, formatIp, parseCidr, parseIp, size } from './cidr.js';
import type { NetworkState } from './state.js';

export function allocate(s: NetworkState, requested?: string): string {
  const subnet = parseCidr(s.config.subnet);
  const used = new Set(Object.values(s.endpoints).map((e) => e.ip));
  used.add(s.config.gateway);
  if (requested) {
    const ip = parseIp(requested, 'IPAMConfig.IPv4Address');
    if (!contains(subnet, ip))
      throw invalidArgument(
        `IPAMConfig.IPv4Address: ${requested} is not in network ${s.config.name}'s subnet ${s.config.subnet}`,
        { field: 'IPAMConfig.IPv4Address' },
      );
    if (ip === subnet.base || ip === subnet.base + size(subnet) - 1)
      throw invalidArgument(`IPAMConfig.IPv4Address: ${requested} is the network or broadcast address`, {
        field: 'IPAMConfig.IPv4Address',
      });
    if (used.has(requested))
      throw conflict(`Address already in use: ${requested} in network ${s.config.name}`, {
        field: 'IPAMConfig.IPv4Address',
      });
    return requested;
  }
  const range = s.config.ipRange ? parseCidr(s.config.ipRange) : subnet;
  const first = Math.max(range.base, subnet.base + 1);
  const last = Math.min(range.base + size(range) - 1, subnet.base + size(subnet) - 2);
  for (let ip = first; ip <= last; ip++) {
    const a = formatIp(ip);
    if (!used.has(a)) return a;
  }
  throw unavailable(`no available IPv4 addresses on network ${s.config.name} (${s.config.ipRange ?? s.config.subnet})`);
}
