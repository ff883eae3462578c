// Cluster IP and node port allocation for Services, as upstream's Service REST storage does it on
// create: pure functions over the sets already in use (the caller owns the state, e.g. by listing
// Services or keeping an allocation map in the store). Errors are FieldErrors worded as upstream.
import { isIP } from 'node:net';
import type { FieldError } from '../../types.js';
import { invalid } from '../../validation/errors.js';
import { asArr, asObj, type Obj } from '../../validation/fields.js';
import { NODE_PORT_RANGE } from './service.js';
import { invalidArgument } from '../../../../common/index.js';

export interface ServiceAllocationState {
  /** IPv4 service range, e.g. `10.96.0.0/12` (Skiff's default) or `10.43.0.0/16`. */
  serviceCIDR: string;
  usedIPs: Set<string>;
  /** Used node ports as `port/protocol` (e.g. `30080/TCP`). */
  usedNodePorts: Set<string>;
  nodePortRange?: { min: number; max: number };
  /** Random source in [0, 1); injectable for tests. */
  random?: () => number;
}

const toInt = (ip: string) => ip.split('.').reduce((a, o) => a * 256 + Number(o), 0);
const toIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');

export function parseCIDR(cidr: string): { base: number; size: number } {
  const [ip, bitsStr] = cidr.split('/');
  const bits = Number(bitsStr);
  if (isIP(ip) !== 4 || !Number.isInteger(bits) || bits < 8 || bits > 30)
    throw invalidArgument(`invalid IPv4 service CIDR ${cidr}`);
  const size = 2 ** (32 - bits);
  return { base: Math.floor(toInt(ip) / size) * size, size };
}

/** The first usable address of the range: upstream reserves it for the `kubernetes` Service. */
export function firstServiceIP(cidr: string): string {
  return toIp(parseCIDR(cidr).base + 1);
}

export function ipInCIDR(ip: string, cidr: string): boolean {
  if (isIP(ip) !== 4) return false;
  const { base, size } = parseCIDR(cidr);
  const n = toInt(ip);
  return n > base && n < base + size - 1;
}

/** Fills spec.clusterIP(s) and node ports of a Service being created; mutates `svc` and the
 *  state's sets. Returns field errors (requested IP/port out of range or already allocated). */
export function allocateService(svc: Obj, st: ServiceAllocationState): FieldError[] {
  const s = asObj(svc.spec);
  if (!s) return [];
  const errs: FieldError[] = [];
  const rnd = st.random ?? Math.random;
  if (s.type !== 'ExternalName' && s.clusterIP !== 'None') {
    if (s.clusterIP) {
      if (!ipInCIDR(s.clusterIP, st.serviceCIDR))
        errs.push(
          invalid(
            'spec.clusterIPs',
            [s.clusterIP],
            `failed to allocate IP ${s.clusterIP}: the provided IP (${s.clusterIP}) is not in the valid range. The range of valid IPs is ${st.serviceCIDR}`,
          ),
        );
      else if (st.usedIPs.has(s.clusterIP))
        errs.push(
          invalid(
            'spec.clusterIPs',
            [s.clusterIP],
            `failed to allocate IP ${s.clusterIP}: provided IP is already allocated`,
          ),
        );
      else st.usedIPs.add(s.clusterIP);
    } else {
      const { base, size } = parseCIDR(st.serviceCIDR);
      const usable = size - 2;
      let picked: string | undefined;
      const start = Math.floor(rnd() * usable);
      for (let i = 0; i < usable && !picked; i++) {
        const ip = toIp(base + 1 + ((start + i) % usable));
        if (!st.usedIPs.has(ip)) picked = ip;
      }
      if (!picked) errs.push(invalid('spec.clusterIPs', [], 'failed to allocate a serviceIP: range is full'));
      else {
        s.clusterIP = picked;
        st.usedIPs.add(picked);
      }
    }
    if (s.clusterIP && !errs.length) s.clusterIPs = [s.clusterIP];
  }
  if (s.type === 'NodePort' || (s.type === 'LoadBalancer' && s.allocateLoadBalancerNodePorts !== false)) {
    const range = st.nodePortRange ?? NODE_PORT_RANGE;
    const span = range.max - range.min + 1;
    asArr(s.ports).forEach((p: Obj, i: number) => {
      if (!asObj(p)) return;
      const proto = p.protocol ?? 'TCP';
      if (p.nodePort) {
        const key = `${p.nodePort}/${proto}`;
        if (st.usedNodePorts.has(key))
          errs.push(invalid(`spec.ports[${i}].nodePort`, p.nodePort, 'provided port is already allocated'));
        else st.usedNodePorts.add(key);
        return;
      }
      const start = Math.floor(rnd() * span);
      for (let k = 0; k < span; k++) {
        const port = range.min + ((start + k) % span);
        if (!st.usedNodePorts.has(`${port}/${proto}`)) {
          p.nodePort = port;
          st.usedNodePorts.add(`${port}/${proto}`);
          return;
        }
      }
      errs.push(invalid(`spec.ports[${i}].nodePort`, 0, 'range is full'));
    });
  }
  return errs;
}

/** What a stored Service holds: its cluster IPs and `port/protocol` node ports (to rebuild the
 *  state from a list of Services). */
export function serviceAllocations(svc: Obj): { ips: string[]; nodePorts: string[] } {
  const s = asObj(svc.spec) ?? {};
  const ips = asArr(s.clusterIPs).length ? asArr(s.clusterIPs) : s.clusterIP ? [s.clusterIP] : [];
  return {
    ips: ips.filter((ip: unknown) => typeof ip === 'string' && ip !== 'None'),
    nodePorts: asArr(s.ports)
      .filter((p) => p?.nodePort)
      .map((p) => `${p.nodePort}/${p.protocol ?? 'TCP'}`),
  };
}
