// ContainerStats and PodSandboxStats from the cgroups (cpu usage, its rate between two samples as
// usage_nano_cores, memory usage and working set = usage - inactive file cache, rss, page faults),
// the writable layer's size and, for a sandbox, its network interfaces (/proc/PID/net/dev is the
// pause process's network namespace).
import { readFileSync } from 'node:fs';
import type { Snapshotter } from '../../image/index.js';
import { createCgroupManager, type CgroupStats } from '../../runtime/index.js';
import { writableLayerSize } from '../services/containers/size.js';
import { containerMetadata, sandboxMetadata } from './convert.js';
import type { ContainerRecord, SandboxRecord } from './records.js';
import { nowNs, type ContainerStats, type PodSandboxStats } from './types.js';

const u = (value: number) => ({ value: Math.max(0, Math.round(value)) });

export class StatsCollector {
  /** Previous cpu sample per cgroup, for usage_nano_cores. */
  private readonly last = new Map<string, { usage: number; at: number }>();
  constructor(
    private readonly snapshotter: Snapshotter,
    private readonly root: string,
    /** A running container's cgroup statistics, from the runtime library by container id. */
    private readonly containerCgroup: (r: ContainerRecord) => Promise<CgroupStats>,
  ) {}

  /** A pod's cgroup (the parent of its containers' cgroups, made by the sandbox). */
  private async cgroup(path: string): Promise<CgroupStats | undefined> {
    try {
      return await createCgroupManager(path).stats();
    } catch {
      return undefined;
    }
  }

  private cpu(path: string, s: CgroupStats | undefined, at: number) {
    const usage = s?.cpu.usageNs ?? 0;
    const prev = this.last.get(path);
    this.last.set(path, { usage, at });
    const rate = prev && at > prev.at && usage >= prev.usage ? ((usage - prev.usage) / (at - prev.at)) * 1e9 : 0;
    return { timestamp: at, usageCoreNanoSeconds: u(usage), usageNanoCores: u(rate), psi: null };
  }

  private memory(s: CgroupStats | undefined, at: number) {
    const usage = s?.memory.usage ?? 0;
    const raw = s?.memory.raw ?? {};
    const inactive = raw.total_inactive_file ?? raw.inactive_file ?? 0;
    const limit = s?.memory.limit ?? 0;
    const ws = Math.max(0, usage - inactive);
    return {
      timestamp: at,
      workingSetBytes: u(ws),
      availableBytes: u(limit > 0 && limit < 2 ** 62 ? Math.max(0, limit - ws) : 0),
      usageBytes: u(usage),
      rssBytes: u(s?.memory.rss ?? 0),
      pageFaults: u(raw.total_pgfault ?? raw.pgfault ?? 0),
      majorPageFaults: u(raw.total_pgmajfault ?? raw.pgmajfault ?? 0),
      psi: null,
    };
  }

  async container(r: ContainerRecord): Promise<ContainerStats> {
    const at = nowNs();
    // the cgroup goes away as the container exits: report no usage rather than fail the list
    const s = r.state === 'CONTAINER_RUNNING' ? await this.containerCgroup(r).catch(() => undefined) : undefined;
    const used = await writableLayerSize(this.snapshotter, r.snapshotKey).catch(() => 0);
    return {
      attributes: {
        id: r.id,
        metadata: containerMetadata(r),
        labels: { ...(r.config.labels ?? {}) },
        annotations: { ...(r.config.annotations ?? {}) },
      },
      cpu: this.cpu(r.cgroup, s, at),
      memory: this.memory(s, at),
      writableLayer: {
        timestamp: at,
        fsId: { mountpoint: this.root },
        usedBytes: u(used),
        inodesUsed: u(0),
      },
      swap: { timestamp: at, swapAvailableBytes: u(0), swapUsageBytes: u(s?.memory.swapUsage ?? 0) },
      io: { timestamp: at, psi: null },
    };
  }

  async sandbox(r: SandboxRecord, ready: boolean, containers: ContainerStats[]): Promise<PodSandboxStats> {
    const at = nowNs();
    const s = ready ? await this.cgroup(r.podCgroup) : undefined;
    const ifaces = ready && !r.hostNetwork ? netDev(r.pid) : [];
    const def = ifaces.find((i) => i.name === 'eth0') ?? ifaces[0] ?? null;
    return {
      attributes: {
        id: r.id,
        metadata: sandboxMetadata(r),
        labels: { ...(r.config.labels ?? {}) },
        annotations: { ...(r.config.annotations ?? {}) },
      },
      linux: {
        cpu: this.cpu(r.podCgroup, s, at),
        memory: this.memory(s, at),
        network: { timestamp: at, defaultInterface: def, interfaces: ifaces },
        process: { timestamp: at, processCount: u(s?.pids.current ?? 0) },
        containers,
        io: { timestamp: at, psi: null },
      },
      windows: null,
    };
  }

  forget(path: string): void {
    this.last.delete(path);
  }
}

/** Interfaces of a process's network namespace, loopback left out. */
function netDev(pid: number) {
  let text = '';
  try {
    text = readFileSync(`/proc/${pid}/net/dev`, 'utf8');
  } catch {
    return [];
  }
  return text
    .split('\n')
    .slice(2)
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => {
      const [name, rest] = l.split(':');
      const f = rest.trim().split(/\s+/).map(Number);
      return { name: name.trim(), rxBytes: u(f[0]), rxErrors: u(f[2]), txBytes: u(f[8]), txErrors: u(f[10]) };
    })
    .filter((i) => i.name !== 'lo');
}
