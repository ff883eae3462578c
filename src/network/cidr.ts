// IPv4 address and CIDR arithmetic. Hand-written: a few dozen lines over 32-bit integers, smaller
// than any library that would also drag in IPv6 parsing we do not use yet.
import { invalidArgument } from '../common/index.js';

export interface Cidr {
  base: number;
  prefix: number;
}

export function parseIp(s: string, field = 'ip'): number {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(s.trim());
  if (!m) throw invalidArgument(`${field}: invalid IPv4 address "${s}"`, { field });
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) throw invalidArgument(`${field}: invalid IPv4 address "${s}"`, { field });
  return ((parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]) >>> 0;
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

const mask = (prefix: number): number => (prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);

/** Parses `a.b.c.d/n`; a host part that is not zero is an error, as Docker reports it. */
export function parseCidr(s: string, field = 'subnet', strict = true): Cidr {
  const m = /^([^/]+)\/(\d{1,2})$/.exec(String(s).trim());
  if (!m || Number(m[2]) > 32) throw invalidArgument(`${field}: invalid CIDR address "${s}"`, { field });
  const ip = parseIp(m[1], field);
  const prefix = Number(m[2]);
  const base = (ip & mask(prefix)) >>> 0;
  if (strict && base !== ip)
    throw invalidArgument(`${field}: "${s}" is not a network address (did you mean ${formatIp(base)}/${prefix}?)`, {
      field,
    });
  return { base, prefix };
}

export const formatCidr = (c: Cidr): string => `${formatIp(c.base)}/${c.prefix}`;
export const size = (c: Cidr): number => 2 ** (32 - c.prefix);
export const contains = (c: Cidr, ip: number): boolean => (ip & mask(c.prefix)) >>> 0 === c.base;
export const overlaps = (a: Cidr, b: Cidr): boolean => contains(a, b.base) || contains(b, a.base);

/** Candidate pools in Docker's order of preference. */
export function* candidatePools(): Generator<Cidr> {
  for (let b = 17; b <= 31; b++) yield { base: parseIp(`172.${b}.0.0`), prefix: 16 };
  yield { base: parseIp('10.88.0.0'), prefix: 16 };
  for (let c = 0; c <= 255; c += 16) yield { base: parseIp(`192.168.${c}.0`), prefix: 20 };
}

/** First candidate that overlaps none of `used`. */
export function pickSubnet(used: Cidr[]): Cidr | undefined {
  for (const c of candidatePools()) if (!used.some((u) => overlaps(u, c))) return c;
  return undefined;
}

/** A MAC address derived from the IP, as Docker does (02:42:a.b.c.d). */
export function macFor(ip: number): string {
  return [
    '02',
    '42',
    ...[ip >>> 24, (ip >>> 16) & 255, (ip >>> 8) & 255, ip & 255].map((x) => x.toString(16).padStart(2, '0')),
  ].join(':');
}
