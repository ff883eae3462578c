// The CRI side of NRI: sandbox and container records as NRI's PodSandbox and Container messages,
// and what a plugin's CreateContainer adjustment may change. Applied: annotations, environment,
// args, bind mounts and the CPU/memory resources a CRI config carries (shares, quota, period,
// cpusets, memory limit, unified). Refused (CreateContainer fails with the list): everything else an
// adjustment can carry (hooks, devices, CDI devices, rlimits, oom_score_adj, seccomp, namespaces,
// sysctls, net devices, scheduler, RDT, memory policy, I/O priority, cgroups path, non-bind mounts).
import { failedPrecondition } from '../../common/index.js';
import {
  NriContainerState,
  type NriContainer,
  type NriContainerAdjustment,
  type NriLinuxResources,
  type NriPodSandbox,
} from '../../nri/index.js';
import type { ContainerRecord, SandboxRecord } from './records.js';
import type { ContainerConfigInput, LinuxContainerResourcesInput, MountInput } from './types.js';

export function nriPod(sb: SandboxRecord | undefined, id = ''): NriPodSandbox {
  if (!sb) return { id };
  const m = sb.config.metadata;
  return {
    id: sb.id,
    name: m?.name ?? '',
    uid: m?.uid ?? '',
    namespace: m?.namespace ?? '',
    labels: { ...(sb.config.labels ?? {}) },
    annotations: { ...(sb.config.annotations ?? {}) },
    runtimeHandler: sb.runtimeHandler,
    linux: { cgroupParent: sb.podCgroup, cgroupsPath: sb.cgroup },
    pid: sb.pid,
    ips: sb.ip ? [sb.ip] : [],
  };
}

const STATE: Record<string, NriContainerState> = {
  CONTAINER_CREATED: NriContainerState.Created,
  CONTAINER_RUNNING: NriContainerState.Running,
  CONTAINER_EXITED: NriContainerState.Stopped,
};

export function nriContainer(r: ContainerRecord): NriContainer {
  const c = r.config;
  return {
    id: r.id,
    podSandboxId: r.sandboxId,
    name: c.metadata?.name ?? '',
    state: STATE[r.state] ?? NriContainerState.Unknown,
    labels: { ...(c.labels ?? {}) },
    annotations: { ...(c.annotations ?? {}) },
    args: [...(c.command ?? []), ...(c.args ?? [])],
    env: (c.envs ?? []).map((e) => `${e.key ?? ''}=${e.value ?? ''}`),
    mounts: (c.mounts ?? []).map((m) => ({
      destination: m.containerPath ?? '',
      source: m.hostPath ?? '',
      type: 'bind',
      options: ['rbind', m.readonly ? 'ro' : 'rw'],
    })),
    pid: r.pid,
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    exitCode: r.exitCode,
    statusReason: r.reason,
    statusMessage: r.message,
    image: { name: r.imageName },
  };
}

/** NRI marks a key for removal with a leading '-'. */
const removal = (k: string): string | undefined => (k.startsWith('-') ? k.slice(1) : undefined);

const APPLIED = new Set(['annotations', 'mounts', 'env', 'args', 'linux']);
const APPLIED_LINUX = new Set(['resources']);
const APPLIED_RESOURCES = new Set(['memory', 'cpu', 'unified']);

const present = (v: unknown): boolean =>
  v !== undefined &&
  v !== null &&
  !(Array.isArray(v) && !v.length) &&
  !(typeof v === 'object' && !Object.keys(v as object).length);

/** What an adjustment asks for that is not applied (field paths), empty when all of it can be. */
export function unsupportedAdjustments(a: NriContainerAdjustment): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(a)) if (present(v) && !APPLIED.has(k)) out.push(k);
  for (const [k, v] of Object.entries(a.linux ?? {})) if (present(v) && !APPLIED_LINUX.has(k)) out.push(`linux.${k}`);
  const res = a.linux?.resources ?? {};
  for (const [k, v] of Object.entries(res))
    if (present(v) && !APPLIED_RESOURCES.has(k)) out.push(`linux.resources.${k}`);
  for (const [k, v] of Object.entries(res.memory ?? {}))
    if (present(v) && k !== 'limit') out.push(`linux.resources.memory.${k}`);
  for (const [k, v] of Object.entries(res.cpu ?? {}))
    if (present(v) && !['shares', 'quota', 'period', 'cpus', 'mems'].includes(k)) out.push(`linux.resources.cpu.${k}`);
  for (const m of a.mounts ?? [])
    if (
      !removal(m.destination ?? '') &&
      m.type !== 'bind' &&
      !(m.options ?? []).some((o) => o === 'bind' || o === 'rbind')
    )
      out.push(`mounts[${m.destination}] of type ${m.type || '(none)'}`);
  return out;
}

/** The config after one plugin's adjustment (throws FailedPrecondition on what is not applied). */
export function adjustConfig(
  config: ContainerConfigInput,
  a: NriContainerAdjustment,
  plugin: string,
): ContainerConfigInput {
  const bad = unsupportedAdjustments(a);
  if (bad.length)
    throw failedPrecondition(`NRI plugin ${plugin} asked for adjustments skiff does not apply: ${bad.join(', ')}`);
  const out: ContainerConfigInput = { ...config };
  if (a.annotations) {
    const ann = { ...(out.annotations ?? {}) };
    for (const [k, v] of Object.entries(a.annotations)) {
      const gone = removal(k);
      if (gone !== undefined) delete ann[gone];
      else ann[k] = v;
    }
    out.annotations = ann;
  }
  if (a.env?.length) {
    let envs = [...(out.envs ?? [])];
    for (const { key = '', value = '' } of a.env) {
      const gone = removal(key);
      envs = envs.filter((e) => e.key !== (gone ?? key));
      if (gone === undefined) envs.push({ key, value });
    }
    out.envs = envs;
  }
  if (a.args?.length) {
    out.command = a.args;
    out.args = [];
  }
  if (a.mounts?.length) {
    let mounts: MountInput[] = [...(out.mounts ?? [])];
    for (const m of a.mounts) {
      const gone = removal(m.destination ?? '');
      mounts = mounts.filter((x) => x.containerPath !== (gone ?? m.destination));
      if (gone === undefined)
        mounts.push({ containerPath: m.destination, hostPath: m.source, readonly: (m.options ?? []).includes('ro') });
    }
    out.mounts = mounts;
  }
  const res = a.linux?.resources;
  if (res) out.linux = { ...(out.linux ?? {}), resources: { ...(out.linux?.resources ?? {}), ...criResources(res) } };
  return out;
}

/** NRI's LinuxResources (the applied subset) as CRI's LinuxContainerResources fields. */
export function criResources(r: NriLinuxResources): LinuxContainerResourcesInput {
  const out: LinuxContainerResourcesInput = {};
  const v = (o: { value?: number } | undefined) => (o ? Number(o.value ?? 0) : undefined);
  if (r.memory?.limit) out.memoryLimitInBytes = v(r.memory.limit);
  if (r.cpu?.shares) out.cpuShares = v(r.cpu.shares);
  if (r.cpu?.quota) out.cpuQuota = v(r.cpu.quota);
  if (r.cpu?.period) out.cpuPeriod = v(r.cpu.period);
  if (r.cpu?.cpus) out.cpusetCpus = r.cpu.cpus;
  if (r.cpu?.mems) out.cpusetMems = r.cpu.mems;
  if (r.unified && Object.keys(r.unified).length) out.unified = r.unified;
  return out;
}
