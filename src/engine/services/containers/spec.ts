// Docker container Config + HostConfig → an OCI runtime spec (what dockerd's daemon/oci_linux.go does).
import { statSync } from 'node:fs';
import { internal, invalidArgument, failedPrecondition } from '../../../common/index.js';
import { defaultSpec, defaultSeccompProfile, CAPABILITIES, DEFAULT_CAPABILITIES } from '../../../runtime/index.js';
import type { Spec } from '../../../oci/index.js';
import type { ContainerRecord, MountPoint } from './record.js';
import { resolveUser } from './user.js';
import { blockIO, deviceCgroupRules } from './resources.js';
import { verifyAtStart } from './spec-checks.js';

export interface SpecInputs {
  rec: ContainerRecord;
  rootfs: string;
  /** Files bind-mounted over /etc/{resolv.conf,hosts,hostname}. */
  etc: { resolvConf: string; hosts: string; hostname: string };
  cgroupsPath: string;
  /** Host path of skiff-tini for HostConfig.Init. */
  initBinary?: string;
  /** Network namespace to join (container:<id> mode). */
  netnsPath?: string;
  /** IPC and PID namespaces to join (IpcMode/PidMode container:<id>). */
  ipcnsPath?: string;
  pidnsPath?: string;
  /** The /dev/shm to bind-mount (IpcMode container:<id>: the other container's). */
  shmPath?: string;
  /** Environment of --link (links.ts), added before the container's own. */
  linkEnv?: string[];
}

const num = (v: unknown): number | undefined =>
  typeof v === 'number' && Number.isFinite(v) && v !== 0 ? v : undefined;

export function capName(raw: string, field: string): string {
  const n = raw.toUpperCase().startsWith('CAP_') ? raw.toUpperCase() : `CAP_${raw.toUpperCase()}`;
  if (!(CAPABILITIES as readonly string[]).includes(n))
    throw invalidArgument(`${field}: unknown capability ${JSON.stringify(raw)}`, { field });
  return n;
}

function capabilities(hc: ContainerRecord['HostConfig']): string[] {
  if (hc.Privileged) return [...CAPABILITIES];
  const caps = new Set<string>(DEFAULT_CAPABILITIES);
  const add = (hc.CapAdd as string[] | null | undefined) ?? [];
  const drop = (hc.CapDrop as string[] | null | undefined) ?? [];
  const all = (l: string[]) => l.some((c) => c.toUpperCase() === 'ALL');
  // moby's TweakCapabilities: `--cap-add ALL` wins (every capability but those dropped by name, so
  // `--cap-add ALL --cap-drop ALL` is all of them), then `--cap-drop ALL` (just what is added)
  const named = (l: string[], field: string) =>
    l.filter((c) => c.toUpperCase() !== 'ALL').map((c) => capName(c, field));
  if (all(add)) {
    const dropped = new Set(named(drop, 'HostConfig.CapDrop'));
    return CAPABILITIES.filter((c) => !dropped.has(c));
  }
  if (all(drop)) return [...new Set(named(add, 'HostConfig.CapAdd'))];
  for (const c of add) caps.add(capName(c, 'HostConfig.CapAdd'));
  for (const c of drop) caps.delete(capName(c, 'HostConfig.CapDrop'));
  return [...caps];
}

/** Docker's seccomp profile JSON (as `docker run --security-opt seccomp=FILE` sends it) → OCI seccomp. */
function dockerSeccomp(text: string): NonNullable<NonNullable<Spec['linux']>['seccomp']> {
  let p: {
    defaultAction?: string;
    architectures?: string[];
    archMap?: { architecture: string; subArchitectures?: string[] }[];
    syscalls?: { names?: string[]; name?: string; action: string; errnoRet?: number; args?: unknown[] }[];
    defaultErrnoRet?: number;
  };
  try {
    p = JSON.parse(text);
  } catch {
    throw invalidArgument('HostConfig.SecurityOpt: seccomp profile is not valid JSON', {
      field: 'HostConfig.SecurityOpt',
    });
  }
  if (!p || typeof p.defaultAction !== 'string')
    throw invalidArgument('HostConfig.SecurityOpt: seccomp profile needs defaultAction', {
      field: 'HostConfig.SecurityOpt',
    });
  const archs = p.architectures ?? p.archMap?.flatMap((a) => [a.architecture, ...(a.subArchitectures ?? [])]) ?? [];
  return {
    defaultAction: p.defaultAction,
    ...(p.defaultErrnoRet !== undefined ? { defaultErrnoRet: p.defaultErrnoRet } : {}),
    architectures: archs,
    syscalls: (p.syscalls ?? []).map((s) => ({
      names: s.names ?? (s.name ? [s.name] : []),
      action: s.action,
      ...(s.errnoRet !== undefined ? { errnoRet: s.errnoRet } : {}),
      ...(s.args ? { args: s.args } : {}),
    })),
  } as NonNullable<NonNullable<Spec['linux']>['seccomp']>;
}

function devices(hc: ContainerRecord['HostConfig']): {
  devs: NonNullable<NonNullable<Spec['linux']>['devices']>;
  allow: { allow: boolean; type: string; major: number; minor: number; access: string }[];
} {
  const devs: NonNullable<NonNullable<Spec['linux']>['devices']> = [];
  const allow: { allow: boolean; type: string; major: number; minor: number; access: string }[] = [];
  for (const d of (hc.Devices as
    | { PathOnHost: string; PathInContainer?: string; CgroupPermissions?: string }[]
    | null
    | undefined) ?? []) {
    let st;
    try {
      st = statSync(d.PathOnHost);
    } catch {
      // dockerd answers 500 for it, at start
      throw internal(
        `error gathering device information while adding custom device "${d.PathOnHost}": no such file or directory`,
        { field: 'HostConfig.Devices' },
      );
    }
    const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : '';
    if (!type)
      throw invalidArgument(`HostConfig.Devices: ${d.PathOnHost} is not a device node`, {
        field: 'HostConfig.Devices',
      });
    const major = Number((BigInt(st.rdev) >> 8n) & 0xfffn),
      minor = Number((BigInt(st.rdev) & 0xffn) | ((BigInt(st.rdev) >> 12n) & 0xfff00n));
    devs.push({
      path: d.PathInContainer || d.PathOnHost,
      type,
      major,
      minor,
      fileMode: st.mode & 0o7777,
      uid: 0,
      gid: 0,
    } as never);
    // Letters other than r, w and m are dropped (dockerd starts such a container, runc ignoring them);
    // with none left the node is there and the cgroup allows it nothing more.
    const access = d.CgroupPermissions ? [...new Set(d.CgroupPermissions.replace(/[^rwm]/g, ''))].join('') : 'rwm';
    if (access) allow.push({ allow: true, type, major, minor, access });
  }
  return { devs, allow };
}

/** dockerd's CreateDaemonEnvironment: PATH, HOSTNAME, TERM (with a tty) and the --link variables,
 *  each replaced by the container's own Env of the same name (replaceEnv). */
export function processEnv(c: ContainerRecord['Config'], linkEnv: string[]): string[] {
  const base = ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', `HOSTNAME=${c.Hostname}`];
  if (c.Tty) base.push('TERM=xterm');
  return replaceEnv([...base, ...linkEnv], c.Env);
}

/** moby's ReplaceOrAppendEnvValues: each override replaces the entry of its name or is appended; an
 *  override without `=` (`docker run -e A` with no A in the client's environment) removes its name. */
export function replaceEnv(defaults: string[], overrides: string[]): string[] {
  const out = new Map<string, string>();
  for (const e of [...defaults, ...overrides]) {
    const eq = e.indexOf('=');
    if (eq < 0) out.delete(e);
    else out.set(e.slice(0, eq), e);
  }
  return [...out.values()];
}

export function buildSpec(i: SpecInputs): Spec {
  const { rec, rootfs } = i;
  const c = rec.Config,
    hc = rec.HostConfig;
  verifyAtStart(hc);
  const caps = capabilities(hc);
  const spec = defaultSpec({
    args: [rec.Path, ...rec.Args],
    terminal: c.Tty,
    rootfs,
    hostname: c.Hostname,
    env: processEnv(c, i.linkEnv ?? []),
    cwd: c.WorkingDir || '/',
    readonly: !!hc.ReadonlyRootfs,
  });
  const proc = spec.process!;
  const user = resolveUser(rootfs, c.User, hc.GroupAdd ?? []);
  proc.user = { uid: user.uid, gid: user.gid, additionalGids: user.additionalGids };
  if (typeof hc.OomScoreAdj === 'number' && hc.OomScoreAdj !== 0) proc.oomScoreAdj = hc.OomScoreAdj;
  if (typeof c.Domainname === 'string' && c.Domainname) spec.domainname = c.Domainname;
  proc.capabilities = { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] };
  const secopts = (hc.SecurityOpt as string[] | null | undefined) ?? [];
  proc.noNewPrivileges = secopts.reduce(
    (on, o) =>
      o === 'no-new-privileges' ? true : /^no-new-privileges[:=]/.test(o) ? /^[:=](1|t|true)$/i.test(o.slice(17)) : on,
    false,
  );
  if (hc.Init) {
    // dockerd refuses to start without its init binary too, rather than running without one.
    if (!i.initBinary)
      throw failedPrecondition(
        'HostConfig.Init: the init binary (native/build/skiff-tini) is missing; run `npm run build`',
        { field: 'HostConfig.Init' },
      );
    proc.args = ['/sbin/docker-init', '--', ...proc.args!];
    spec.mounts!.push({
      destination: '/sbin/docker-init',
      type: 'bind',
      source: i.initBinary,
      options: ['rbind', 'ro', 'rprivate'],
    });
  }
  // Ulimits
  const ulimits = (hc.Ulimits as { Name: string; Soft: number; Hard: number }[] | null | undefined) ?? [];
  if (ulimits.length) {
    const rl = new Map((proc.rlimits ?? []).map((r) => [r.type, r]));
    for (const u of ulimits)
      rl.set(`RLIMIT_${u.Name.toUpperCase()}`, { type: `RLIMIT_${u.Name.toUpperCase()}`, soft: u.Soft, hard: u.Hard });
    proc.rlimits = [...rl.values()];
  }
  const linux = spec.linux!;
  linux.cgroupsPath = i.cgroupsPath;
  // Namespaces
  const nm = String(hc.NetworkMode || 'bridge');
  let ns = linux.namespaces!;
  if (nm === 'host') ns = ns.filter((n) => n.type !== 'network');
  else if (nm.startsWith('container:'))
    ns = ns.map((n) => (n.type === 'network' ? { type: 'network', path: i.netnsPath } : n));
  const join = (type: string, path: string | undefined) =>
    ns.map((n) => (n.type === type ? { type, path } : n)) as typeof ns;
  if (hc.PidMode === 'host') ns = ns.filter((n) => n.type !== 'pid');
  else if (String(hc.PidMode ?? '').startsWith('container:')) ns = join('pid', i.pidnsPath);
  if (hc.IpcMode === 'host') ns = ns.filter((n) => n.type !== 'ipc');
  else if (String(hc.IpcMode ?? '').startsWith('container:')) ns = join('ipc', i.ipcnsPath);
  if (hc.UTSMode === 'host') ns = ns.filter((n) => n.type !== 'uts');
  // cgroupns: a private one on request; the host's otherwise (dockerd's default on cgroup v1).
  if (hc.CgroupnsMode === 'private' && !ns.some((n) => n.type === 'cgroup')) ns.push({ type: 'cgroup' });
  linux.namespaces = ns;
  // /dev/shm: the host's with --ipc host, none with --ipc none, the joined container's with container:.
  if (hc.IpcMode === 'none') spec.mounts = spec.mounts!.filter((m) => m.destination !== '/dev/shm');
  else if (hc.IpcMode === 'host' || i.shmPath)
    spec.mounts = spec.mounts!.map((m) =>
      m.destination === '/dev/shm'
        ? { destination: '/dev/shm', type: 'bind', source: i.shmPath ?? '/dev/shm', options: ['rbind', 'rprivate'] }
        : m,
    );
  if (Array.isArray(hc.MaskedPaths)) linux.maskedPaths = [...(hc.MaskedPaths as string[])];
  if (Array.isArray(hc.ReadonlyPaths)) linux.readonlyPaths = [...(hc.ReadonlyPaths as string[])];
  if (hc.UTSMode === 'host' || nm === 'host') delete spec.hostname;
  // Security
  if (hc.Privileged) {
    delete linux.seccomp;
    linux.maskedPaths = [];
    linux.readonlyPaths = [];
    linux.resources = { devices: [{ allow: true, access: 'rwm' }] };
    for (const m of spec.mounts!)
      if (m.destination === '/sys' || m.destination === '/sys/fs/cgroup')
        m.options = (m.options ?? []).filter((o) => o !== 'ro');
  } else {
    const sc = secopts.find((o) => o.startsWith('seccomp=') || o.startsWith('seccomp:'));
    if (sc) {
      const v = sc.slice(8);
      if (v === 'unconfined') delete linux.seccomp;
      else linux.seccomp = dockerSeccomp(v);
    } else linux.seccomp = defaultSeccompProfile(caps);
  }
  // Resources
  const r: NonNullable<NonNullable<Spec['linux']>['resources']> = linux.resources ?? {};
  const mem: Record<string, number> = {};
  if (num(hc.Memory)) mem.limit = hc.Memory as number;
  if (num(hc.MemorySwap))
    mem.swap = Math.max(-1, hc.MemorySwap as number); // any negative: unlimited
  else if (num(hc.Memory)) mem.swap = (hc.Memory as number) * 2; // Docker's default: swap = memory
  if (num(hc.MemoryReservation)) mem.reservation = hc.MemoryReservation as number;
  if (typeof hc.MemorySwappiness === 'number' && hc.MemorySwappiness >= 0) mem.swappiness = hc.MemorySwappiness;
  if (Object.keys(mem).length) r.memory = mem;
  if (hc.OomKillDisable === true) r.memory = { ...(r.memory ?? {}), disableOOMKiller: true } as never;
  const cpu: Record<string, number | string> = {};
  if (num(hc.CpuShares)) cpu.shares = hc.CpuShares as number;
  if (num(hc.NanoCpus)) {
    cpu.period = 100000;
    cpu.quota = Math.round(((hc.NanoCpus as number) / 1e9) * 100000);
  }
  if (num(hc.CpuQuota)) cpu.quota = hc.CpuQuota as number;
  if (num(hc.CpuPeriod)) cpu.period = hc.CpuPeriod as number;
  if (typeof hc.CpusetCpus === 'string' && hc.CpusetCpus) cpu.cpus = hc.CpusetCpus;
  if (typeof hc.CpusetMems === 'string' && hc.CpusetMems) cpu.mems = hc.CpusetMems;
  if (Object.keys(cpu).length) r.cpu = cpu as never;
  if (num(hc.PidsLimit) && (hc.PidsLimit as number) > 0) r.pids = { limit: hc.PidsLimit as number };
  const bio = blockIO(hc);
  if (bio) r.blockIO = bio as never;
  const dv = devices(hc);
  if (dv.devs.length) {
    linux.devices = [...(linux.devices ?? []), ...dv.devs];
    if (r.devices) r.devices = [...r.devices, ...dv.allow] as never;
  }
  const rules = deviceCgroupRules(hc);
  if (rules.length && r.devices) r.devices = [...r.devices, ...rules] as never;
  linux.resources = r;
  const sysctls = (hc.Sysctls as Record<string, string> | null | undefined) ?? {};
  if (Object.keys(sysctls).length) {
    for (const k of Object.keys(sysctls)) {
      if (nm === 'host' && k.startsWith('net.'))
        throw invalidArgument(`HostConfig.Sysctls: sysctl ${k} is not allowed in the host network namespace`, {
          field: 'HostConfig.Sysctls',
        });
    }
    linux.sysctl = { ...sysctls };
  }
  // Mounts
  const mounts = spec.mounts!;
  if (num(hc.ShmSize))
    for (const m of mounts)
      if (m.destination === '/dev/shm')
        m.options = [...(m.options ?? []).filter((o) => !o.startsWith('size=')), `size=${hc.ShmSize}`];
  const etcOpts = ['rbind', 'rprivate', ...(hc.ReadonlyRootfs ? ['ro'] : [])];
  // The user's mounts (with the engine's /etc files unless the user mounts one of them) go after the
  // defaults they do not replace, parents before children (as dockerd sorts them: a volume at /etc
  // is mounted before /etc/hosts is bound onto it).
  const own = rec.Mounts.flatMap(ociMount);
  const etcFiles = [
    { destination: '/etc/resolv.conf', type: 'bind', source: i.etc.resolvConf, options: etcOpts },
    { destination: '/etc/hostname', type: 'bind', source: i.etc.hostname, options: etcOpts },
    { destination: '/etc/hosts', type: 'bind', source: i.etc.hosts, options: etcOpts },
  ].filter((e) => !own.some((m) => m.destination === e.destination));
  const depth = (d: string) => d.split('/').filter(Boolean).length;
  const userMounts = [...etcFiles, ...own].sort((a, b) => depth(a.destination) - depth(b.destination));
  spec.mounts = [...mounts.filter((d) => !userMounts.some((u) => u.destination === d.destination)), ...userMounts];
  spec.annotations = {
    ...((hc.Annotations as Record<string, string> | null | undefined) ?? {}),
    'org.skiff.engine.container': rec.Id,
    'org.skiff.engine.name': rec.Name.slice(1),
  };
  return spec;
}

function ociMount(m: MountPoint): NonNullable<Spec['mounts']> {
  if (m.Type === 'tmpfs') {
    const opts = ['nosuid', 'nodev', 'noexec'];
    if (m.TmpfsOptions?.SizeBytes) opts.push(`size=${m.TmpfsOptions.SizeBytes}`);
    if (m.TmpfsOptions?.Mode) opts.push(`mode=${m.TmpfsOptions.Mode.toString(8)}`);
    for (const o of (m.Mode || '').split(',').filter(Boolean)) if (!opts.includes(o)) opts.push(o);
    return [{ destination: m.Destination, type: 'tmpfs', source: 'tmpfs', options: opts }];
  }
  const opts = ['rbind', m.Propagation || 'rprivate'];
  if (!m.RW) opts.push('ro');
  return [{ destination: m.Destination, type: 'bind', source: m.Source, options: opts }];
}
