// CgroupManager for cgroup v1 (and hybrid mode): one hierarchy per controller under the mount
// root (`<root>/memory/<path>`, `<root>/cpu/<path>`, …). In hybrid mode the (controller-less)
// unified hierarchy at `<root>/unified` is joined as well, so /proc/PID/cgroup is consistent.
import { existsSync, mkdirSync } from 'node:fs';
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

export class CgroupV1Manager implements CgroupManager {
  readonly version = 1 as const;
  private readonly hier: Record<string, string> = {};
  private readonly root: string;
  private readonly freezeTimeoutMs: number;

  constructor(
    readonly path: string,
    opts: CgroupManagerOptions = {},
  ) {
    this.root = opts.mountRoot ?? '/sys/fs/cgroup';
    this.freezeTimeoutMs = opts.freezeTimeoutMs ?? 5000;
    for (const c of CONTROLLERS) {
      if (existsSync(join(this.root, c.name))) this.hier[c.name] = join(this.root, c.name, path);
    }
    if (existsSync(join(this.root, 'unified', 'cgroup.procs'))) this.hier.unified = join(this.root, 'unified', path);
  }

  dirs(): Record<string, string> {
    return { ...this.hier };
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
    for (const d of Object.values(this.hier)) mkdirSync(d, { recursive: true });
    if (this.hier.cpuset) await ensureCpusetV1(join(this.root, 'cpuset'), this.path);
  }

  async addProcess(pid: number): Promise<void> {
    if (!Number.isInteger(pid) || pid <= 0) throw invalidArgument(`invalid pid ${pid}`, { field: 'pid' });
    for (const d of Object.values(this.hier)) await writeCgroupFile(d, 'cgroup.procs', pid);
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
    for (const d of Object.values(this.hier)) await removeCgroupDir(d);
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
