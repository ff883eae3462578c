// CgroupManager for cgroup v1 (and hybrid mode): one hierarchy per controller under the mount
// root (`<root>/memory/<path>`, `<root>/cpu/<path>`, …). As runc does, the cgroup is made and joined
// in every v1 hierarchy mounted there (named ones such as name=systemd too, so /proc/PID/cgroup
// names the container's cgroup on every line), and in hybrid mode in the (controller-less) unified
// hierarchy at `<root>/unified`.
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupManager, CgroupManagerOptions, CgroupResources, CgroupStats, FreezerState } from '../types.js';
import type { Controller } from '../controller.js';
import { emptyStats } from '../controller.js';
import { invalidArgument, failedPrecondition } from '../../../common/index.js';
import { readProcsRecursive, removeCgroupDir, writeCgroupFile } from '../fs.js';
import { memoryV1, oomKillCountV1 } from './memory.js';
import { cpuV1, cpuacctV1 } from './cpu.js';
import { cpusetV1, ensureCpusetV1 } from './cpuset.js';
import { pidsV1 } from './pids.js';
import { blkioV1 } from './blkio.js';
import { devicesV1 } from './devices.js';
import { freezeV1, freezerStateV1, thawV1 } from './freezer.js';
import { killAllWith } from '../kill.js';

/** Order matters for set(): cpuset before cpu (runc's order), devices last. */
const CONTROLLERS: Controller[] = [
  cpusetV1,
  cpuV1,
  cpuacctV1,
  memoryV1,
  pidsV1,
  blkioV1,
  devicesV1,
  { name: 'freezer' },
];

/** The v1 hierarchies mounted under a root: a directory per mount (`cpu`, `memory`, `systemd`,
 *  `cpu,cpuacct`…) and the symbolic links distributions add for co-mounted controllers
 *  (`cpu -> cpu,cpuacct`). The unified (cgroup2) mount of hybrid mode is not one of them. */
export interface V1Layout {
  hierarchies: string[];
  links: { name: string; target: string }[];
}

const layouts = new Map<string, V1Layout>();

/** Lists the mount root once per process: hierarchies are mounted at boot, not while containers
 *  run. In mount order (as /proc/self/mountinfo lists them, the order runc binds them in); a root
 *  that is no mount point (the unit tests' fake trees) in name order. */
export function v1Layout(root: string): V1Layout {
  let l = layouts.get(root);
  if (l) return l;
  l = { hierarchies: [], links: [] };
  const dirs: string[] = [];
  try {
    for (const e of readdirSync(root, { withFileTypes: true })) {
      if (e.name === 'unified' || e.name.startsWith('.')) continue;
      if (e.isDirectory()) dirs.push(e.name);
      else if (e.isSymbolicLink()) l.links.push({ name: e.name, target: readlinkSync(join(root, e.name)) });
    }
  } catch {
    /* no cgroup mounts: every controller is reported missing when used */
  }
  const mounted = mountOrder(root);
  l.hierarchies = [...mounted.filter((h) => dirs.includes(h)), ...dirs.filter((d) => !mounted.includes(d)).sort()];
  layouts.set(root, l);
  return l;
}

/** Names of the v1 cgroup file systems mounted directly under `root`, in mount order. */
function mountOrder(root: string): string[] {
  let text = '';
  try {
    text = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const line of text.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-');
    if (sep < 0 || f[sep + 1] !== 'cgroup') continue;
    const mp = f[4];
    if (mp.startsWith(root + '/') && !mp.slice(root.length + 1).includes('/')) out.push(mp.slice(root.length + 1));
  }
  return out;
}

export class CgroupV1Manager implements CgroupManager {
  readonly version = 1 as const;
  /** Controller → this cgroup's directory in the hierarchy holding it. */
  private readonly hier: Record<string, string> = {};
  /** Every hierarchy joined (mount directory name → this cgroup's directory there). */
  private readonly joined: Record<string, string> = {};
  private readonly cpusetPath: string;
  private readonly root: string;
  private readonly freezeTimeoutMs: number;

  constructor(
    readonly path: string,
    opts: CgroupManagerOptions = {},
  ) {
    this.root = opts.mountRoot ?? '/sys/fs/cgroup';
    this.freezeTimeoutMs = opts.freezeTimeoutMs ?? 5000;
    const layout = v1Layout(this.root);
    const parents = opts.parents;
    /** `path` within the hierarchy holding controller (or named hierarchy) `key`. */
    const inHier = (key: string) => (parents ? join(parents[key] ?? '/', path) : path);
    this.cpusetPath = inHier('cpuset');
    for (const h of layout.hierarchies) this.joined[h] = join(this.root, h, inHier(h.split(',')[0]));
    for (const c of CONTROLLERS) {
      if (existsSync(join(this.root, c.name))) this.hier[c.name] = join(this.root, c.name, inHier(c.name));
    }
    if (existsSync(join(this.root, 'unified', 'cgroup.procs'))) {
      this.hier.unified = join(this.root, 'unified', inHier('unified'));
      this.joined.unified = this.hier.unified;
    }
    // A controller reached through a link (cpu -> cpu,cpuacct) is already joined under its target.
    for (const [c, d] of Object.entries(this.hier)) if (!layout.links.some((l) => l.name === c)) this.joined[c] ??= d;
  }

  dirs(): Record<string, string> {
    return { ...this.joined };
  }

  /** The v1 hierarchies (not the unified one) and co-mount links, for the container's cgroup mount. */
  layout(): V1Layout {
    return v1Layout(this.root);
  }

  private dir(controller: string): string {
    const d = this.hier[controller];
    if (!d)
      throw failedPrecondition(`cgroup v1: the ${controller} hierarchy is not mounted under ${this.root}`, {
        field: controller,
      });
    return d;
  }

  async create(): Promise<void> {
    for (const d of Object.values(this.joined)) mkdirSync(d, { recursive: true });
    if (this.hier.cpuset) await ensureCpusetV1(join(this.root, 'cpuset'), this.cpusetPath);
  }

  async addProcess(pid: number): Promise<void> {
    if (!Number.isInteger(pid) || pid <= 0) throw invalidArgument(`invalid pid ${pid}`, { field: 'pid' });
    for (const d of Object.values(this.joined)) await writeCgroupFile(d, 'cgroup.procs', pid);
  }

  async set(r: CgroupResources): Promise<void> {
    for (const c of CONTROLLERS) {
      if (!c.set) continue;
      if (!this.hier[c.name]) {
        if (wants(c.name, r))
          throw failedPrecondition(
            `cgroup v1: resources need the ${c.name} controller, which is not mounted under ${this.root}`,
            { field: c.name },
          );
        continue;
      }
      await c.set(this.hier[c.name], r);
    }
    if (r.unified && Object.keys(r.unified).length) {
      const u = this.hier.unified;
      if (!u)
        throw invalidArgument('linux.resources.unified needs cgroup v2 (the unified hierarchy is not mounted)', {
          field: 'linux.resources.unified',
        });
      for (const [k, v] of Object.entries(r.unified)) {
        if (k.includes('/') || k.startsWith('.'))
          throw invalidArgument(`linux.resources.unified: invalid file name "${k}"`, {
            field: `linux.resources.unified.${k}`,
          });
        await writeCgroupFile(u, k, v);
      }
    }
  }

  freeze(): Promise<void> {
    return freezeV1(this.dir('freezer'), this.freezeTimeoutMs);
  }

  thaw(): Promise<void> {
    return thawV1(this.dir('freezer'));
  }

  freezerState(): Promise<FreezerState> {
    return freezerStateV1(this.dir('freezer'));
  }

  async stats(): Promise<CgroupStats> {
    const s = emptyStats();
    for (const c of CONTROLLERS)
      if (c.stats && this.hier[c.name] && existsSync(this.hier[c.name])) await c.stats(this.hier[c.name], s);
    return s;
  }

  async pids(): Promise<number[]> {
    const d = this.hier.pids ?? this.hier.freezer ?? this.hier.memory ?? Object.values(this.hier)[0];
    return d ? [...new Set(await readProcsRecursive(d))] : [];
  }

  async oomKillCount(): Promise<number> {
    return this.hier.memory ? oomKillCountV1(this.hier.memory) : 0;
  }

  oomFile(): string | undefined {
    return this.hier.memory ? join(this.hier.memory, 'memory.oom_control') : undefined;
  }

  killAll(signal: NodeJS.Signals | number): Promise<void> {
    return killAllWith(this, signal);
  }

  async destroy(): Promise<void> {
    for (const d of Object.values(this.joined)) await removeCgroupDir(d);
  }
}

function wants(controller: string, r: CgroupResources): boolean {
  switch (controller) {
    case 'memory':
      return !!r.memory;
    case 'cpu':
      return !!r.cpu && (r.cpu.shares !== undefined || r.cpu.quota !== undefined || r.cpu.period !== undefined);
    case 'cpuset':
      return !!r.cpu && !!(r.cpu.cpus || r.cpu.mems);
    case 'pids':
      return !!r.pids;
    case 'blkio':
      return !!r.blockIO;
    case 'devices':
      return !!r.devices?.length;
    default:
      return false;
  }
}
