// The per-controller shape both managers iterate over: each file under v1/ and v2/ exports one.
import type { CgroupResources, CgroupStats } from './types.js';

export interface Controller {
  /** v1: hierarchy (mount) name under the mount root; v2: controller name in cgroup.controllers. */
  readonly name: string;
  set?(dir: string, r: CgroupResources): Promise<void>;
  stats?(dir: string, s: CgroupStats): Promise<void>;
}

export function emptyStats(): CgroupStats {
  return {
    cpu: { usageNs: 0, userNs: 0, systemNs: 0, throttledPeriods: 0, throttledTimeNs: 0, periods: 0 },
    memory: { usage: 0, limit: 0, cache: 0, rss: 0, oomEvents: 0, oomKillEvents: 0, raw: {} },
    pids: { current: 0 },
    io: { readBytes: 0, writeBytes: 0, readOps: 0, writeOps: 0, devices: [] },
  };
}

type Dev = CgroupStats['io']['devices'][number];
export function ioDevice(list: Dev[], major: number, minor: number): Dev {
  let d = list.find((x) => x.major === major && x.minor === minor);
  if (!d) list.push((d = { major, minor, readBytes: 0, writeBytes: 0, readOps: 0, writeOps: 0 }));
  return d;
}

export function sumIo(s: CgroupStats): void {
  for (const d of s.io.devices) {
    s.io.readBytes += d.readBytes;
    s.io.writeBytes += d.writeBytes;
    s.io.readOps += d.readOps;
    s.io.writeOps += d.writeOps;
  }
}
