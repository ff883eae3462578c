// The node's VXLAN device (`skiff.1`) brought to a wanted state: VNI, port, no learning, the local
// address and the link it sends on, the MTU, and the address <podCIDR>.0/32. Reconciled, not
// recreated: a device already matching is kept (its neighbours, FDB entries and routes stay, pods
// keep talking across an agent restart); a new local address on the same link is set in place; a
// new link (or a device of another VNI/port/learning) is recreated with the same MAC, so the VTEP
// MAC other nodes hold stays valid. Commands run in `netns` when given (tests).
import { internal } from '../../common/index.js';
import { run, type RunResult } from '../../network/index.js';

export interface Sh {
  run(cmd: string, args: string[]): Promise<RunResult>;
  must(cmd: string, args: string[]): Promise<string>;
}

/** Commands in the process's own network namespace, or in `netns` (an `ip netns` name). */
export function shell(netns?: string): Sh {
  const go = (cmd: string, args: string[]) =>
    netns ? run('ip', ['netns', 'exec', netns, cmd, ...args]) : run(cmd, args);
  return {
    run: go,
    async must(cmd, args) {
      const r = await go(cmd, args);
      if (r.code !== 0) throw internal(`${cmd} ${args.join(' ')} failed: ${r.stderr.trim() || `exit ${r.code}`}`);
      return r.stdout;
    },
  };
}

export interface VxlanWant {
  name: string;
  vni: number;
  port: number;
  local: string;
  /** The link the encapsulated packets leave by (the one holding `local`). */
  link: string;
  mtu: number;
  /** <podCIDR>.0/32 */
  address: string;
}

interface Have {
  mac: string;
  mtu: number;
  up: boolean;
  vni?: number;
  port?: number;
  learning?: boolean;
  local?: string;
  link?: string;
  kind?: string;
  addrs: string[];
}

async function inspect(sh: Sh, name: string): Promise<Have | undefined> {
  const r = await sh.run('ip', ['-d', '-j', 'addr', 'show', 'dev', name]);
  if (r.code !== 0) return undefined;
  const l = (
    JSON.parse(r.stdout) as {
      address: string;
      mtu: number;
      flags?: string[];
      linkinfo?: {
        info_kind?: string;
        info_data?: { id?: number; port?: number; learning?: boolean; local?: string; link?: string };
      };
      addr_info?: { family: string; local: string; prefixlen: number }[];
    }[]
  )[0];
  if (!l) return undefined;
  const d = l.linkinfo?.info_data ?? {};
  return {
    mac: l.address,
    mtu: l.mtu,
    up: l.flags?.includes('UP') ?? false,
    kind: l.linkinfo?.info_kind,
    vni: d.id,
    port: d.port,
    learning: d.learning,
    local: d.local,
    link: d.link,
    addrs: (l.addr_info ?? []).filter((a) => a.family === 'inet').map((a) => `${a.local}/${a.prefixlen}`),
  };
}

export interface EnsureResult {
  mac: string;
  /** True when the device was (re)created: everything on it (neighbours, FDB, routes) is gone. */
  created: boolean;
  /** What changed, for the log (empty: nothing). */
  changes: string[];
}

/** Brings the device to `w`; keeps the MAC of a device that exists. */
export async function ensureVxlan(sh: Sh, w: VxlanWant): Promise<EnsureResult> {
  const have = await inspect(sh, w.name);
  const changes: string[] = [];
  let created = false;
  const compatible =
    have?.kind === 'vxlan' &&
    have.vni === w.vni &&
    have.port === w.port &&
    have.learning === false &&
    have.link === w.link;
  if (have && compatible && have.local !== w.local) {
    const r = await sh.run('ip', ['link', 'set', w.name, 'type', 'vxlan', 'local', w.local]);
    if (r.code === 0) changes.push(`local ${have.local} → ${w.local}`);
  }
  const now = have && compatible ? await inspect(sh, w.name) : undefined;
  if (!now || now.local !== w.local) {
    // A device on another link (or that refused the new local address): recreated, same MAC.
    if (have) await sh.run('ip', ['link', 'del', w.name]);
    const mac = have?.mac ? ['address', have.mac] : [];
    await sh.must('ip', [
      'link',
      'add',
      w.name,
      ...mac,
      'type',
      'vxlan',
      'id',
      String(w.vni),
      'local',
      w.local,
      'dev',
      w.link,
      'dstport',
      String(w.port),
      'nolearning',
    ]);
    created = true;
    changes.push(have ? `recreated on ${w.link} with local ${w.local} (was ${have.link}, ${have.local})` : 'created');
  }
  const cur = (await inspect(sh, w.name))!;
  if (cur.mtu !== w.mtu) {
    await sh.must('ip', ['link', 'set', w.name, 'mtu', String(w.mtu)]);
    if (!created) changes.push(`mtu ${cur.mtu} → ${w.mtu}`);
  }
  if (!cur.up) await sh.must('ip', ['link', 'set', w.name, 'up']);
  for (const a of cur.addrs) if (a !== w.address) await sh.run('ip', ['addr', 'del', a, 'dev', w.name]);
  if (!cur.addrs.includes(w.address)) await sh.must('ip', ['addr', 'add', w.address, 'dev', w.name]);
  return { mac: cur.mac, created, changes };
}
