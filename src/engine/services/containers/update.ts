// `docker update`: new resource limits (applied to the running container through the runtime) and
// restart policy, validated as dockerd does.
import { invalidArgument } from '../../../common/index.js';
import { hostFacts } from './host-facts.js';
import type { Containers, Live } from './service.js';
import { verifyUpdateResources } from './validate.js';

export async function updateContainer(
  svc: Containers,
  c: Live,
  body: Record<string, unknown>,
): Promise<{ Warnings: string[] }> {
  const hc = c.rec.HostConfig;
  verifyUpdateResources(body, hostFacts());
  const keys = [
    'Memory',
    'MemorySwap',
    'MemoryReservation',
    'NanoCpus',
    'CpuShares',
    'CpuQuota',
    'CpuPeriod',
    'CpusetCpus',
    'CpusetMems',
    'PidsLimit',
    'BlkioWeight',
  ];
  for (const k of keys)
    if (body[k] !== undefined && body[k] !== null && body[k] !== 0 && body[k] !== '') {
      if (k.startsWith('Cpuset') ? typeof body[k] !== 'string' : typeof body[k] !== 'number')
        throw invalidArgument(`${k}: invalid value`, { field: k });
      hc[k] = body[k];
    }
  const rp = body.RestartPolicy as { Name?: string; MaximumRetryCount?: number } | undefined;
  // The CLI sends RestartPolicy {Name: ""} with every update without --restart: an empty name keeps
  // the container's policy (moby's UpdateContainer), it is no reset to "no".
  if (rp?.Name) {
    if (!['no', 'always', 'unless-stopped', 'on-failure'].includes(rp.Name))
      throw invalidArgument(`RestartPolicy: invalid restart policy '${rp.Name}'`, { field: 'RestartPolicy.Name' });
    if (hc.AutoRemove && rp.Name !== 'no')
      throw invalidArgument(
        'RestartPolicy: Restart policy cannot be updated because AutoRemove is enabled for the container',
        { field: 'RestartPolicy' },
      );
    hc.RestartPolicy = { Name: rp.Name, MaximumRetryCount: rp.MaximumRetryCount ?? 0 };
  }
  if (c.rec.State.Running) {
    const r: Record<string, unknown> = {};
    if (hc.Memory) r.memory = { limit: hc.Memory, ...(hc.MemorySwap ? { swap: hc.MemorySwap } : {}) };
    const cpu: Record<string, unknown> = {};
    if (hc.CpuShares) cpu.shares = hc.CpuShares;
    if (hc.NanoCpus) {
      cpu.period = 100000;
      cpu.quota = Math.round(((hc.NanoCpus as number) / 1e9) * 100000);
    }
    if (hc.CpuQuota) cpu.quota = hc.CpuQuota;
    if (hc.CpuPeriod) cpu.period = hc.CpuPeriod;
    if (hc.CpusetCpus) cpu.cpus = hc.CpusetCpus;
    if (Object.keys(cpu).length) r.cpu = cpu;
    if (hc.PidsLimit) r.pids = { limit: hc.PidsLimit };
    if (hc.BlkioWeight) r.blockIO = { weight: hc.BlkioWeight };
    if (Object.keys(r).length) await svc.runtime.update(svc.rtId(c.rec.Id), r);
  }
  svc.save(c);
  svc.emit(c, 'update');
  return { Warnings: [] };
}
