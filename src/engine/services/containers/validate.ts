// HostConfig and Config checks at create, as dockerd makes them (moby's daemon/container.go
// verifyContainerSettings and daemon_unix.go verifyPlatformContainerResources/Settings), with its
// messages, so that `docker run` fails before anything is made. What dockerd takes at create and
// refuses only at start (an unknown ulimit, soft above hard, a sysctl of no namespace of the
// container's, CPU shares out of range) is refused at start too (spec-checks.ts). Settings dockerd discards on this kernel give its warnings; the
// settings skiff does not implement are refused by `unsupported.ts`, never accepted and ignored.
import { isIP } from 'node:net';
import { isAbsolute } from 'node:path';
import { invalidArgument } from '../../../common/index.js';
import { CAPABILITIES, parseSignal } from '../../../runtime/index.js';
import type { CreateBody } from './create.js';
import { parseUintList, type HostFacts } from './host-facts.js';

const MIN_MEMORY = 6 * 1024 * 1024;
const MIN_DURATION_NS = 1_000_000;
const RUNTIMES = ['', 'runc', 'skiff'];

/** A HostConfig as it arrives (only some fields are typed by the create schema). */
type HC = Record<string, unknown>;

const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const list = <T = string>(v: unknown): T[] => (Array.isArray(v) ? (v as T[]) : []);

function bad(message: string, field: string): never {
  throw invalidArgument(message, { field });
}

/** Validates and normalises the create body in place; returns dockerd's warnings. */
export function verifyContainerSettings(b: CreateBody, facts: HostFacts): string[] {
  const warnings: string[] = [];
  verifyConfig(b);
  const hc = (b.HostConfig ?? {}) as HC;
  verifyHostConfig(hc);
  verifyResources(hc, facts, warnings);
  verifyPlatform(hc, facts, warnings);
  return warnings;
}

function verifyConfig(b: CreateBody): void {
  if (b.WorkingDir && !isAbsolute(b.WorkingDir))
    bad(`the working directory '${b.WorkingDir}' is invalid, it needs to be an absolute path`, 'Config.WorkingDir');
  if (b.StopSignal) {
    try {
      parseSignal(b.StopSignal);
    } catch {
      bad(`Invalid signal: ${b.StopSignal}`, 'Config.StopSignal');
    }
  }
  for (const e of b.Env ?? []) if (e.split('=')[0] === '') bad(`invalid environment variable: ${e}`, 'Config.Env');
  const h = b.Healthcheck;
  if (h) {
    for (const k of ['Interval', 'Timeout', 'StartPeriod', 'StartInterval'] as const) {
      const v = h[k] ?? 0;
      if (v !== 0 && v < MIN_DURATION_NS) bad(`${k} in Healthcheck cannot be less than 1ms`, `Config.Healthcheck.${k}`);
    }
    if ((h.Retries ?? 0) < 0) bad('Retries in Healthcheck cannot be negative', 'Config.Healthcheck.Retries');
  }
}

function verifyHostConfig(hc: HC): void {
  const rp = (hc.RestartPolicy ?? {}) as { Name?: string; MaximumRetryCount?: number };
  const name = rp.Name ?? '';
  const retries = rp.MaximumRetryCount ?? 0;
  if (hc.AutoRemove === true && name !== '' && name !== 'no')
    bad("can't create 'AutoRemove' container with restart policy", 'HostConfig.AutoRemove');
  for (const h of list(hc.ExtraHosts)) {
    const i = h.indexOf(':');
    if (i <= 0) bad(`bad format for add-host: ${JSON.stringify(h)}`, 'HostConfig.ExtraHosts');
    const ip = h.slice(i + 1).replace(/^\[(.*)\]$/, '$1');
    if (ip !== 'host-gateway' && !isIP(ip))
      bad(`invalid IP address in add-host: ${JSON.stringify(ip)}`, 'HostConfig.ExtraHosts');
  }
  if (['always', 'unless-stopped', 'no'].includes(name)) {
    if (retries !== 0)
      bad(`maximum retry count cannot be used with restart policy '${name}'`, 'HostConfig.RestartPolicy');
  } else if (name === 'on-failure') {
    if (retries < 0) bad('maximum retry count cannot be negative', 'HostConfig.RestartPolicy');
  } else if (name !== '') bad(`invalid restart policy '${name}'`, 'HostConfig.RestartPolicy');
  for (const k of ['CapAdd', 'CapDrop'])
    for (const c of list(hc[k])) {
      const n = c.toUpperCase() === 'ALL' ? 'ALL' : c.toUpperCase().replace(/^(?!CAP_)/, 'CAP_');
      if (n !== 'ALL' && !(CAPABILITIES as readonly string[]).includes(n))
        bad(`invalid ${k}: unknown capability: ${JSON.stringify(n)}`, `HostConfig.${k}`);
    }
  const iso = str(hc.Isolation);
  if (iso !== '' && iso !== 'default')
    bad(`Invalid isolation: ${JSON.stringify(iso)} - linux only supports 'default'`, 'HostConfig.Isolation');
}

/** `docker update`'s resources, checked as dockerd checks them (the same rules as at create, on the
 *  request's values alone). Returns the warnings. */
export function verifyUpdateResources(resources: Record<string, unknown>, facts: HostFacts): string[] {
  const warnings: string[] = [];
  verifyResources({ ...resources }, facts, warnings, true);
  return warnings;
}

function verifyResources(hc: HC, facts: HostFacts, warnings: string[], update = false): void {
  const memory = num(hc.Memory),
    swap = num(hc.MemorySwap),
    reservation = num(hc.MemoryReservation);
  if (memory !== 0 && memory < MIN_MEMORY) bad('Minimum memory limit allowed is 6MB', 'HostConfig.Memory');
  if (memory > 0 && swap > 0 && swap < memory)
    bad('Minimum memoryswap limit should be larger than memory limit, see usage', 'HostConfig.MemorySwap');
  if (memory === 0 && swap > 0 && !update)
    // an update keeps the container's memory limit
    bad('You should always set the Memory limit when using Memoryswap limit, see usage', 'HostConfig.MemorySwap');
  if (hc.MemorySwappiness === -1) hc.MemorySwappiness = null;
  if (typeof hc.MemorySwappiness === 'number') {
    if (!facts.swappiness) {
      warnings.push(
        'Your kernel does not support memory swappiness capabilities or the cgroup is not mounted. Memory swappiness discarded.',
      );
      hc.MemorySwappiness = null;
    } else if (hc.MemorySwappiness < 0 || hc.MemorySwappiness > 100)
      bad(
        `Invalid value: ${hc.MemorySwappiness}, valid memory swappiness range is 0-100`,
        'HostConfig.MemorySwappiness',
      );
  }
  if (reservation > 0 && reservation < MIN_MEMORY)
    bad('Minimum memory reservation allowed is 6MB', 'HostConfig.MemoryReservation');
  if (memory > 0 && reservation > 0 && memory < reservation)
    bad('Minimum memory limit can not be less than memory reservation limit, see usage', 'HostConfig.Memory');
  for (const k of ['KernelMemory', 'KernelMemoryTCP'])
    if (num(hc[k]) !== 0) {
      // dockerd ignores it from API 1.42 on; say so rather than drop it silently.
      warnings.push(`${k} is not supported (kernel memory limits were removed in API v1.42). ${k} discarded.`);
      hc[k] = 0;
    }
  if (hc.OomKillDisable === true) {
    if (!facts.oomKillDisable) {
      warnings.push('Your kernel does not support OomKillDisable. OomKillDisable discarded.');
      hc.OomKillDisable = false;
    } else if (memory === 0)
      warnings.push(
        'OOM killer is disabled for the container, but no memory limit is set, this can result in the system running out of resources.',
      );
  }
  if (typeof hc.PidsLimit === 'number' && hc.PidsLimit <= 0) hc.PidsLimit = null;
  const nano = num(hc.NanoCpus),
    period = num(hc.CpuPeriod),
    quota = num(hc.CpuQuota),
    shares = num(hc.CpuShares);
  if (nano > 0 && period > 0)
    bad('Conflicting options: Nano CPUs and CPU Period cannot both be set', 'HostConfig.NanoCpus');
  if (nano > 0 && quota > 0)
    bad('Conflicting options: Nano CPUs and CPU Quota cannot both be set', 'HostConfig.NanoCpus');
  if (nano < 0 || nano > facts.ncpu * 1e9)
    bad(
      `Range of CPUs is from 0.01 to ${facts.ncpu}.00, as there are only ${facts.ncpu} CPUs available`,
      'HostConfig.NanoCpus',
    );
  void shares; // its range is checked at start, as dockerd does (spec-checks.ts)
  if (period !== 0 && (period < 1000 || period > 1000000))
    bad('CPU cfs period can not be less than 1ms (i.e. 1000) or larger than 1s (i.e. 1000000)', 'HostConfig.CpuPeriod');
  if (quota > 0 && quota < 1000) bad('CPU cfs quota can not be less than 1ms (i.e. 1000)', 'HostConfig.CpuQuota');
  if (num(hc.CpuPercent) > 0) {
    warnings.push('linux does not support CPU percent. Percent discarded.');
    hc.CpuPercent = 0;
  }
  if (num(hc.CpuCount) > 0) {
    warnings.push('linux does not support CPU count. Count discarded.');
    hc.CpuCount = 0;
  }
  for (const [k, what, avail] of [
    ['CpusetCpus', 'cpus', facts.cpus],
    ['CpusetMems', 'mems', facts.mems],
  ] as const) {
    const v = str(hc[k]);
    const want = parseUintList(v);
    if (!want) bad(`Invalid value ${v} for cpuset ${what}: invalid format: ${v}`, `HostConfig.${k}`);
    const have = parseUintList(avail) ?? new Set<number>();
    if ([...want].some((x) => !have.has(x)))
      bad(
        what === 'cpus'
          ? `Requested CPUs are not available - requested ${v}, available: ${avail}`
          : `Requested memory nodes are not available - requested ${v}, available: ${avail}`,
        `HostConfig.${k}`,
      );
  }
  const weight = num(hc.BlkioWeight);
  if (weight > 0 && !facts.blkioWeight) {
    warnings.push('Your kernel does not support Block I/O weight or the cgroup is not mounted. Weight discarded.');
    hc.BlkioWeight = 0;
  } else if (weight > 0 && (weight < 10 || weight > 1000))
    bad('Range of blkio weight is from 10 to 1000', 'HostConfig.BlkioWeight');
  if (num(hc.IOMaximumBandwidth) !== 0)
    bad(
      'Invalid QoS settings: linux does not support configuration of maximum bandwidth',
      'HostConfig.IOMaximumBandwidth',
    );
  if (num(hc.IOMaximumIOps) !== 0)
    bad('Invalid QoS settings: linux does not support configuration of maximum IOps', 'HostConfig.IOMaximumIOps');
  if (list(hc.BlkioWeightDevice).length && !facts.blkioWeightDevice) {
    warnings.push(
      'Your kernel does not support Block I/O weight_device or the cgroup is not mounted. Weight-device discarded.',
    );
    hc.BlkioWeightDevice = [];
  }
  for (const [k, what] of [
    ['BlkioDeviceReadBps', 'BPS Block I/O read limit'],
    ['BlkioDeviceWriteBps', 'BPS Block I/O write limit'],
    ['BlkioDeviceReadIOps', 'IOPS Block read limit'],
    ['BlkioDeviceWriteIOps', 'IOPS Block write limit'],
  ] as const)
    if (list(hc[k]).length && !facts.blkioThrottle) {
      warnings.push(`Your kernel does not support ${what} or the cgroup is not mounted. ${what} discarded.`);
      hc[k] = [];
    }
}

function verifyPlatform(hc: HC, facts: HostFacts, warnings: string[]): void {
  // an unknown IpcMode is refused at start, as dockerd does (spec-checks.ts)
  const pid = str(hc.PidMode);
  if (!['', 'host'].includes(pid) && !/^container:.+/.test(pid)) bad(`invalid PID mode: ${pid}`, 'HostConfig.PidMode');
  const uts = str(hc.UTSMode);
  if (!['', 'host'].includes(uts)) bad(`invalid UTS mode: ${uts}`, 'HostConfig.UTSMode');
  const userns = str(hc.UsernsMode);
  if (!['', 'host'].includes(userns))
    bad(
      `invalid user namespace mode: ${userns} (this engine remaps no user namespace: use "" or "host")`,
      'HostConfig.UsernsMode',
    );
  const cgns = str(hc.CgroupnsMode);
  if (!['', 'host', 'private'].includes(cgns)) bad(`invalid cgroup namespace mode: ${cgns}`, 'HostConfig.CgroupnsMode');
  if (num(hc.ShmSize) < 0) bad('SHM size can not be less than 0', 'HostConfig.ShmSize');
  const oom = num(hc.OomScoreAdj);
  if (oom < -1000 || oom > 1000)
    bad(`Invalid value ${oom}, range for oom score adj is [-1000, 1000]`, 'HostConfig.OomScoreAdj');
  if (str(hc.NetworkMode) === 'host' && Object.keys((hc.PortBindings as object | null) ?? {}).length)
    warnings.push('Published ports are discarded when using host network mode');
  if (!RUNTIMES.includes(str(hc.Runtime))) bad(`Unknown runtime specified ${str(hc.Runtime)}`, 'HostConfig.Runtime');
  for (const d of Object.keys((hc.Tmpfs as object | null) ?? {}))
    if (!isAbsolute(d)) bad(`invalid mount path: '${d}' mount path must be absolute`, 'HostConfig.Tmpfs');
  for (const r of list(hc.DeviceCgroupRules))
    if (!/^([acb]) ([0-9]+|\*):([0-9]+|\*) ([rwm]{1,3})$/.test(r))
      bad(`invalid device cgroup rule format: '${r}'`, 'HostConfig.DeviceCgroupRules');
  for (const o of list(hc.SecurityOpt)) securityOpt(o, facts);
  void warnings;
}

/** moby's parseSecurityOpt, for what the engine acts on: no-new-privileges, seccomp, label and
 *  apparmor (ignored as dockerd ignores them where SELinux and AppArmor are off; refused else). */
export function securityOpt(o: string, facts: HostFacts): void {
  if (o === 'no-new-privileges' || o === 'disable') return;
  const sep = o.includes('=') ? '=' : o.includes(':') ? ':' : '';
  if (!sep) bad(`invalid --security-opt 1: ${JSON.stringify(o)}`, 'HostConfig.SecurityOpt');
  const i = o.indexOf(sep);
  const k = o.slice(0, i),
    v = o.slice(i + 1);
  switch (k) {
    case 'label':
      return;
    case 'apparmor':
      if (facts.appArmor && v !== 'unconfined')
        bad(
          `AppArmor profile ${JSON.stringify(v)}: AppArmor profiles are not supported by this engine`,
          'HostConfig.SecurityOpt',
        );
      return;
    case 'seccomp':
      return;
    case 'no-new-privileges':
      if (!['1', 't', 'T', 'TRUE', 'true', 'True', '0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v))
        bad(`invalid --security-opt 2: ${JSON.stringify(o)}`, 'HostConfig.SecurityOpt');
      return;
    default:
      bad(`invalid --security-opt 2: ${JSON.stringify(o)}`, 'HostConfig.SecurityOpt');
  }
}
