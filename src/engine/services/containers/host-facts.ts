// What the host's kernel and cgroups support, read once: the facts dockerd's sysinfo gives its
// HostConfig checks (CPUs and memory nodes, cgroup version, which blkio and memory knobs exist).
import { existsSync, readFileSync } from 'node:fs';
import { cpus } from 'node:os';

export interface HostFacts {
  ncpu: number;
  /** cpuset of the root cgroup, as the kernel prints it ("0-1"). */
  cpus: string;
  mems: string;
  cgroupVersion: 1 | 2;
  blkioWeight: boolean;
  blkioWeightDevice: boolean;
  blkioThrottle: boolean;
  swappiness: boolean;
  oomKillDisable: boolean;
  appArmor: boolean;
}

const CG = '/sys/fs/cgroup';

function read(path: string, dflt: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return dflt;
  }
}

let cached: HostFacts | undefined;

export function hostFacts(): HostFacts {
  if (cached) return cached;
  const v2 = existsSync(`${CG}/cgroup.controllers`);
  const ncpu = cpus().length;
  const all = `0-${Math.max(0, ncpu - 1)}`;
  const controllers = v2 ? read(`${CG}/cgroup.subtree_control`, '').split(/\s+/) : [];
  cached = v2
    ? {
        ncpu,
        cpus: read(`${CG}/cpuset.cpus.effective`, all),
        mems: read(`${CG}/cpuset.mems.effective`, '0'),
        cgroupVersion: 2,
        blkioWeight: controllers.includes('io'),
        blkioWeightDevice: controllers.includes('io'),
        blkioThrottle: controllers.includes('io'),
        swappiness: false,
        oomKillDisable: false,
        appArmor: read('/sys/module/apparmor/parameters/enabled', 'N') === 'Y',
      }
    : {
        ncpu,
        cpus: read(`${CG}/cpuset/cpuset.cpus`, all),
        mems: read(`${CG}/cpuset/cpuset.mems`, '0'),
        cgroupVersion: 1,
        blkioWeight: existsSync(`${CG}/blkio/blkio.weight`),
        blkioWeightDevice: existsSync(`${CG}/blkio/blkio.weight_device`),
        blkioThrottle: existsSync(`${CG}/blkio/blkio.throttle.read_bps_device`),
        swappiness: existsSync(`${CG}/memory/memory.swappiness`),
        oomKillDisable: existsSync(`${CG}/memory/memory.oom_control`),
        appArmor: read('/sys/module/apparmor/parameters/enabled', 'N') === 'Y',
      };
  return cached;
}

/** moby's parsers.ParseUintList ("0-3,5"); undefined when malformed. */
export function parseUintList(v: string): Set<number> | undefined {
  const out = new Set<number>();
  if (v === '') return out;
  for (const part of v.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) return undefined;
    const lo = Number(m[1]),
      hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo) return undefined;
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return out;
}
