// CRI LinuxContainerResources → OCI linux.resources (what the cgroup managers apply), and back
// for ContainerStatus.resources.
import type { CgroupResources } from '../../runtime/index.js';
import { int64, type LinuxContainerResources, type LinuxContainerResourcesInput } from './types.js';

/** undefined when nothing is set. oom_score_adj is a process property, not a cgroup one. */
export function resourcesToOci(r: LinuxContainerResourcesInput | undefined | null): CgroupResources | undefined {
  if (!r) return undefined;
  const out: CgroupResources = {};
  const cpu: NonNullable<CgroupResources['cpu']> = {};
  const shares = int64(r.cpuShares);
  const quota = int64(r.cpuQuota);
  const period = int64(r.cpuPeriod);
  if (shares > 0) cpu.shares = shares;
  if (quota > 0) cpu.quota = quota;
  if (period > 0) cpu.period = period;
  if (r.cpusetCpus) cpu.cpus = r.cpusetCpus;
  if (r.cpusetMems) cpu.mems = r.cpusetMems;
  if (Object.keys(cpu).length) out.cpu = cpu;
  const limit = int64(r.memoryLimitInBytes);
  const swap = int64(r.memorySwapLimitInBytes);
  if (limit > 0) out.memory = { limit, ...(swap > 0 ? { swap } : {}) };
  if (r.unified && Object.keys(r.unified).length) out.unified = { ...r.unified };
  return Object.keys(out).length ? out : undefined;
}

export function resourcesOut(r: LinuxContainerResourcesInput | undefined | null): LinuxContainerResources {
  return {
    cpuPeriod: int64(r?.cpuPeriod),
    cpuQuota: int64(r?.cpuQuota),
    cpuShares: int64(r?.cpuShares),
    memoryLimitInBytes: int64(r?.memoryLimitInBytes),
    oomScoreAdj: int64(r?.oomScoreAdj),
    cpusetCpus: r?.cpusetCpus ?? '',
    cpusetMems: r?.cpusetMems ?? '',
    hugepageLimits: (r?.hugepageLimits ?? []).map((h) => ({ pageSize: h.pageSize ?? '', limit: int64(h.limit) })),
    unified: { ...(r?.unified ?? {}) },
    memorySwapLimitInBytes: int64(r?.memorySwapLimitInBytes),
  };
}
