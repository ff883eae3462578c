// CgroupManager for the unified hierarchy (cgroup v2): one directory `<root>/<path>`; controllers
// are enabled top-down through each ancestor's cgroup.subtree_control. Device control on v2 needs
// an eBPF program attached to the cgroup; Skiff does not do that (device rules are ignored here,
// the container's /dev is still limited to the nodes skiff-init creates).
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { CgroupManager, CgroupManagerOptions, CgroupResources, CgroupStats, FreezerState } from '../types.js';
import type { Controller } from '../controller.js';
import { emptyStats } from '../controller.js';
import { invalidArgument } from '../../../common/index.js';
import { readCgroupFile, readProcsRecursive, removeCgroupDir, writeCgroupFile } from '../fs.js';
import { memoryV2, oomKillCountV2 } from './memory.js';
import { cpuV2 } from './cpu.js';
import { cpusetV2 } from './cpuset.js';
import { pidsV2 } from './pids.js';
import { ioV2 } from './io.js';
import { freezeV2, freezerStateV2, thawV2 } from './freezer.js';
import { killAllWith } from '../kill.js';

const CONTROLLERS: Controller[] = [cpusetV2, cpuV2, memoryV2, pidsV2, ioV2];
const ENABLE = ['cpuset', 'cpu', 'io', 'memory', 'pids'];

export class CgroupV2Manager implements CgroupManager {
  readonly version = 2 as const;
  private readonly root: string;
  private readonly dir: string;
  /** The path from the hierarchy's root (`path` under opts.parents.unified when given). */
  private readonly full: string;
  private readonly freezeTimeoutMs: number;

  constructor(
    readonly path: string,
    opts: CgroupManagerOptions = {},
  ) {
    this.root = opts.mountRoot ?? '/sys/fs/cgroup';
    this.full = opts.parents ? join(opts.parents.unified ?? '/', path) : path;
    this.dir = join(this.root, this.full);
    this.freezeTimeoutMs = opts.freezeTimeoutMs ?? 5000;
  }

  dirs(): Record<string, string> {
    return { unified: this.dir };
  }

  async create(): Promise<void> {
    // Enable every available controller for the children of each ancestor (root … parent).
    let parent = this.root;
    for (const part of this.full.split('/').filter(Boolean)) {
      const available = ((await readCgroupFile(parent, 'cgroup.controllers')) ?? '')
        .split(/\s+/)
        .filter((c) => ENABLE.includes(c));
      const enabled = ((await readCgroupFile(parent, 'cgroup.subtree_control')) ?? '').split(/\s+/);
      const missing = available.filter((c) => !enabled.includes(c));
      if (missing.length) {
        try {
          await writeCgroupFile(parent, 'cgroup.subtree_control', missing.map((c) => `+${c}`).join(' '));
        } catch {
          for (const c of missing) {
            // One controller refused (e.g. a threaded subtree): enable the others one by one; a
            // later set() that needs the refused one fails naming its file.
            await writeCgroupFile(parent, 'cgroup.subtree_control', `+${c}`).catch(() => undefined);
          }
        }
      }
      parent = join(parent, part);
      mkdirSync(parent, { recursive: true });
    }
  }

  async addProcess(pid: number): Promise<void> {
    if (!Number.isInteger(pid) || pid <= 0) throw invalidArgument(`invalid pid ${pid}`, { field: 'pid' });
    await writeCgroupFile(this.dir, 'cgroup.procs', pid);
  }

  async set(r: CgroupResources): Promise<void> {
    for (const c of CONTROLLERS) await c.set?.(this.dir, r);
    for (const [k, v] of Object.entries(r.unified ?? {})) {
      if (k.includes('/') || k.startsWith('.'))
        throw invalidArgument(`linux.resources.unified: invalid file name "${k}"`, {
          field: `linux.resources.unified.${k}`,
        });
      await writeCgroupFile(this.dir, k, v);
    }
  }

  freeze(): Promise<void> {
    return freezeV2(this.dir, this.freezeTimeoutMs);
  }

  thaw(): Promise<void> {
    return thawV2(this.dir);
  }

  freezerState(): Promise<FreezerState> {
    return freezerStateV2(this.dir);
  }

  async stats(): Promise<CgroupStats> {
    const s = emptyStats();
    if (existsSync(this.dir)) for (const c of CONTROLLERS) await c.stats?.(this.dir, s);
    return s;
  }

  async pids(): Promise<number[]> {
    return [...new Set(await readProcsRecursive(this.dir))];
  }

  oomKillCount(): Promise<number> {
    return oomKillCountV2(this.dir);
  }

  oomFile(): string | undefined {
    return join(this.dir, 'memory.events');
  }

  async killAll(signal: NodeJS.Signals | number): Promise<void> {
    // cgroup.kill (Linux 5.14+) kills the whole subtree atomically; only for SIGKILL.
    if ((signal === 'SIGKILL' || signal === 9) && existsSync(join(this.dir, 'cgroup.kill'))) {
      await writeCgroupFile(this.dir, 'cgroup.kill', 1);
      return;
    }
    await killAllWith(this, signal);
  }

  async destroy(): Promise<void> {
    await removeCgroupDir(this.dir);
  }
}
