// Legacy `--link OTHER:ALIAS` at start, as dockerd makes them (moby's links package): the linked
// container must run; /etc/hosts gets "IP ALIAS OTHER-HOSTNAME OTHER-NAME"; on the default bridge
// the environment gets ALIAS_NAME, ALIAS_PORT[_N_PROTO[_ADDR|_PORT|_PROTO]] and ALIAS_ENV_*.
import { conflict, notFound } from '../../../common/index.js';
import type { ContainerRecord } from './record.js';

export interface LinkInfo {
  hosts: string[];
  env: string[];
}

/** `links` are stored as "/other:/new/alias"; `lookup` finds the other container by name. */
export function resolveLinks(rec: ContainerRecord, lookup: (ref: string) => ContainerRecord): LinkInfo {
  const out: LinkInfo = { hosts: [], env: [] };
  const legacy = (rec.HostConfig.NetworkMode ?? 'bridge') === 'bridge';
  for (const l of rec.HostConfig.Links ?? []) {
    const [otherName, full] = l.split(':');
    const alias = full.slice(full.lastIndexOf('/') + 1);
    const other = lookup(otherName);
    if (!other.State.Running)
      throw conflict(`Cannot link to a non running container: ${other.Name} AS ${full}`, { field: 'HostConfig.Links' });
    const net = legacy ? other.Networks.bridge : Object.values(other.Networks).find((n) => n.IPAddress);
    const ip = net?.IPAddress ?? '';
    if (!ip) continue;
    out.hosts.push(
      `${ip}\t${[alias, other.Config.Hostname, other.Name.slice(1)].filter((x, i, a) => a.indexOf(x) === i).join(' ')}`,
    );
    if (legacy) out.env.push(...linkEnv(alias, full, ip, other));
  }
  return out;
}

function linkEnv(alias: string, full: string, ip: string, other: ContainerRecord): string[] {
  const A = alias.toUpperCase().replace(/-/g, '_');
  const env = [`${A}_NAME=${full}`];
  const ports = Object.keys(other.Config.ExposedPorts ?? {})
    .map((p) => {
      const [n, proto = 'tcp'] = p.split('/');
      return { n: Number(n.split('-')[0]), proto };
    })
    .filter((p) => Number.isInteger(p.n))
    .sort((a, b) => a.n - b.n || a.proto.localeCompare(b.proto));
  if (ports.length) env.push(`${A}_PORT=${ports[0].proto}://${ip}:${ports[0].n}`);
  for (const p of ports) {
    const k = `${A}_PORT_${p.n}_${p.proto.toUpperCase()}`;
    env.push(`${k}=${p.proto}://${ip}:${p.n}`, `${k}_ADDR=${ip}`, `${k}_PORT=${p.n}`, `${k}_PROTO=${p.proto}`);
  }
  for (const e of other.Config.Env ?? []) {
    const i = e.indexOf('=');
    if (i < 0) continue;
    const k = e.slice(0, i);
    if (k === 'HOME' || k === 'PATH') continue;
    env.push(`${A}_ENV_${k}=${e.slice(i + 1)}`);
  }
  return env;
}

/** `rm --link PARENT/ALIAS`: the parent's record and its links without that one (null when none is
 *  left); a name without a parent is dockerd's conflict, an unknown link its "No such container". */
export function linksWithout(
  name: string,
  lookup: (ref: string) => ContainerRecord,
): { parent: ContainerRecord; links: string[] | null } {
  const full = `/${name.replace(/^\/+/, '')}`;
  const i = full.lastIndexOf('/');
  if (i <= 0) throw conflict('Conflict, cannot remove the default link name of the container', { field: 'id' });
  const parent = lookup(full.slice(0, i));
  const links = parent.HostConfig.Links ?? [];
  const left = links.filter((l) => l.split(':')[1] !== `${parent.Name}${full.slice(i)}`);
  if (left.length === links.length) throw notFound(`No such container: ${name}`, { field: 'id' });
  return { parent, links: left.length ? left : null };
}
