// Compiles an OCI config into skiff-init's line-based spec (see native/skiff-init-spec.h). Every
// decision (flags, device list, capability masks, seccomp rules) is made here; C only applies.
import { isAbsolute, join } from 'node:path';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';

const HAS_KCORE = existsSync('/proc/kcore');
import type { Spec, Process } from '../oci/index.js';
import { invalidArgument } from '../common/index.js';
import { capBits } from './capabilities.js';
import { parseMountOptions, PROPAGATION, MS } from './mount-options.js';
import { RLIMITS, NS_NAME, DEFAULT_DEVICES } from './linux-consts.js';

const SPECIAL = /[\\\t\n]/;
const esc = (v: string | number) => {
  const s = String(v);
  return SPECIAL.test(s) ? s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n') : s;
};
const rec = (key: string, ...fields: (string | number)[]) => {
  let line = key;
  for (const f of fields) line += '\t' + esc(f);
  return line;
};
/** Numbers past 2^53 (RLIM_INFINITY, u64 seccomp values) arrive as floats; send their exact u64. */
const u64 = (n: number) =>
  Number.isSafeInteger(n) ? String(n) : n >= 2 ** 64 - 2048 ? '0xffffffffffffffff' : BigInt(Math.round(n)).toString();

export interface InitSpecOptions {
  bundle: string;
  rootfs: string;
  cgroupDirs: Record<string, string>;
  cgroupVersion: 1 | 2;
  /** v1: the hierarchies mounted on the host and their co-mount links (see CgroupV1Manager.layout). */
  cgroupLayout?: { hierarchies: string[]; links: { name: string; target: string }[] };
  fifo?: string;
  /** Where skiff-init writes the init's pid (not needed in the foreground: it reports it). */
  pidFile?: string;
  errFile: string;
  consoleSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
  /** runc's --preserve-fds: descriptors 3 … 3+N−1 stay open in the container. */
  preserveFds?: number;
  /** Append skiff-init's phase timestamps to this file (the benchmark's breakdown). */
  trace?: string;
  foreground?: boolean;
  readyFd?: number;
  id: string;
  seccompCacheDir?: string;
}

/** The process part (shared by create and exec). */
export function processRecords(p: Process, consoleSocket?: string): string[] {
  const out: string[] = [];
  for (const r of p.rlimits ?? []) {
    const n = RLIMITS[r.type];
    if (n === undefined)
      throw invalidArgument(`process.rlimits: unknown rlimit ${r.type}`, { field: 'process.rlimits' });
    out.push(rec('rlimit', n, u64(r.soft), u64(r.hard)));
  }
  if (p.terminal) {
    if (consoleSocket) out.push(rec('console', consoleSocket));
    if (p.consoleSize) out.push(rec('consolesize', p.consoleSize.height, p.consoleSize.width));
  }
  const c = p.capabilities;
  if (c) {
    const eff = capBits(c.effective, 'process.capabilities.effective');
    const perm = capBits(c.permitted, 'process.capabilities.permitted');
    const inh = capBits(c.inheritable, 'process.capabilities.inheritable');
    const bnd = capBits(c.bounding, 'process.capabilities.bounding');
    // The kernel keeps an ambient capability only while it is both permitted and inheritable
    // (PR_CAP_AMBIENT_RAISE fails with EPERM otherwise). runc raises each one and ignores the
    // failures, so a config whose ambient set is not a subset (`runc spec` lists ambient caps but no
    // inheritable ones) runs with those left out; the same here, decided before skiff-init runs.
    const amb = capBits(c.ambient, 'process.capabilities.ambient') & perm & inh;
    out.push(rec('caps', ...[eff, perm, inh, bnd, amb].map((m) => '0x' + m.toString(16))));
  }
  if (p.noNewPrivileges) out.push(rec('nnp', 1));
  out.push(rec('user', p.user.uid, p.user.gid));
  const gids = p.user.additionalGids ?? [];
  out.push(rec('gids', ...gids));
  if (p.user.umask !== undefined) out.push(rec('umask', '0' + p.user.umask.toString(8)));
  out.push(rec('cwd', p.cwd));
  for (const e of p.env ?? []) out.push(rec('env', e));
  out.push(rec('args', ...p.args));
  return out;
}

/** Seccomp rules, plus the cache file for their compiled BPF (keyed by a hash of the rules). The
 *  records of a profile are kept (by its JSON, a tenth of their cost): Docker's default profile
 *  is ~400 rules and every container of an engine has one of a few profiles. */
export function seccompRecords(spec: Spec, cacheDir?: string): string[] {
  const sc = spec.linux?.seccomp;
  if (!sc) return [];
  const key = `${cacheDir ?? ''}\n${JSON.stringify(sc)}`;
  const hit = recordCache.get(key);
  if (hit) return hit;
  const out = compileSeccomp(spec, cacheDir);
  if (recordCache.size >= 32) recordCache.delete(recordCache.keys().next().value!);
  recordCache.set(key, out);
  return out;
}
const recordCache = new Map<string, string[]>();

function compileSeccomp(spec: Spec, cacheDir?: string): string[] {
  const rules = seccompRules(spec);
  if (!rules.length || !cacheDir) return rules;
  const key = createHash('sha256')
    .update('v1\n' + rules.join('\n'))
    .digest('hex')
    .slice(0, 32);
  return [...rules, rec('sccache', join(cacheDir, `${key}.bpf`))];
}

function seccompRules(spec: Spec): string[] {
  const s = spec.linux?.seccomp;
  if (!s) return [];
  const out = [rec('seccomp', s.defaultAction, s.defaultErrnoRet ?? '')];
  for (const a of s.architectures ?? []) out.push(rec('scarch', a.replace(/^SCMP_ARCH_/, '').toLowerCase()));
  for (const sc of s.syscalls ?? []) {
    const args = (sc.args ?? []).flatMap((a) => [a.index, a.op, u64(a.value), u64(a.valueTwo ?? 0)]);
    for (const name of sc.names) out.push(rec('sc', name, sc.action, sc.errnoRet ?? '', ...args));
  }
  return out;
}

export function compileCreateSpec(spec: Spec, o: InitSpecOptions): string {
  if (!spec.process)
    throw invalidArgument('config.json: process: required to create a container', { field: 'process' });
  const out: string[] = [];
  const linux = spec.linux ?? {};
  const nss = linux.namespaces ?? [];
  const has = (t: string) => nss.some((n) => n.type === t && !n.path);
  for (const ns of nss) {
    const name = NS_NAME[ns.type];
    if (ns.path) out.push(rec('nsjoin', name, ns.path));
    else out.push(rec('ns', name));
    if (ns.type === 'cgroup' && !ns.path) out.push(rec('cgroupns', 1));
  }
  if (!nss.some((n) => n.type === 'mount')) out.push(rec('ns', 'mnt'));
  if (has('user')) {
    if (!linux.uidMappings?.length || !linux.gidMappings?.length) {
      throw invalidArgument('linux.uidMappings: a new user namespace needs uidMappings and gidMappings', {
        field: 'linux.uidMappings',
      });
    }
    for (const m of linux.uidMappings) out.push(rec('uidmap', m.containerID, m.hostID, m.size));
    for (const m of linux.gidMappings) out.push(rec('gidmap', m.containerID, m.hostID, m.size));
  }
  for (const d of Object.values(o.cgroupDirs)) out.push(rec('cgroup', d));
  out.push(rec('rootfs', o.rootfs));
  if (spec.root.readonly) out.push(rec('readonly', 1));
  if (linux.rootfsPropagation) out.push(rec('rootprop', PROPAGATION[linux.rootfsPropagation]));
  if (o.noPivot) out.push(rec('nopivot', 1));
  const mounts = spec.mounts ?? [];
  let tmpfsDev = false;
  for (const m of mounts) {
    const opt = parseMountOptions(m.options);
    const type = m.type ?? (opt.flags & MS.BIND ? 'bind' : 'none');
    if (type === 'bind') opt.flags |= MS.BIND;
    if (m.destination === '/dev' && type === 'tmpfs') tmpfsDev = true;
    if (type === 'cgroup') {
      out.push(...cgroupMount(m.destination, opt.flags, opt.propagation, o, has('cgroup')));
      continue;
    }
    let src = m.source ?? type;
    if (opt.flags & MS.BIND && !isAbsolute(src)) src = join(o.bundle, src);
    const fields = [src, m.destination, type, opt.flags, opt.propagation, opt.data];
    // a 7th field only when set: MOUNT_ATTR_* bits skiff-init applies recursively (runc's `rro`)
    out.push(rec('mount', ...fields, ...(opt.recursiveAttrs ? [opt.recursiveAttrs] : [])));
  }
  const devices = [...(tmpfsDev ? DEFAULT_DEVICES : []), ...(linux.devices ?? [])];
  for (const d of devices) {
    const mode = 'fileMode' in d && d.fileMode !== undefined ? d.fileMode : 0o666;
    const uid = 'uid' in d && d.uid !== undefined ? d.uid : 0;
    const gid = 'gid' in d && d.gid !== undefined ? d.gid : 0;
    out.push(rec('dev', d.path, d.type === 'u' ? 'c' : d.type, d.major ?? 0, d.minor ?? 0, mode, uid, gid));
  }
  if (tmpfsDev) {
    const procMounted = mounts.some((m) => m.destination === '/proc');
    if (procMounted) {
      out.push(
        rec('symlink', '/proc/self/fd', '/dev/fd'),
        rec('symlink', '/proc/self/fd/0', '/dev/stdin'),
        rec('symlink', '/proc/self/fd/1', '/dev/stdout'),
        rec('symlink', '/proc/self/fd/2', '/dev/stderr'),
      );
      if (HAS_KCORE) out.push(rec('symlink', '/proc/kcore', '/dev/core')); // as runc: only when the kernel has it
    }
    if (mounts.some((m) => m.destination === '/dev/pts')) out.push(rec('symlink', 'pts/ptmx', '/dev/ptmx', 'replace'));
  }
  for (const p of linux.maskedPaths ?? []) out.push(rec('mask', p));
  for (const p of linux.readonlyPaths ?? []) out.push(rec('ropath', p));
  if (spec.hostname !== undefined && has('uts')) out.push(rec('hostname', spec.hostname));
  if (spec.domainname !== undefined && has('uts')) out.push(rec('domainname', spec.domainname));
  for (const [k, v] of Object.entries(linux.sysctl ?? {})) {
    if (k.includes('..') || k.includes('/'))
      throw invalidArgument(`linux.sysctl: invalid key ${k}`, { field: `linux.sysctl.${k}` });
    out.push(rec('sysctl', k.replace(/\./g, '/'), v));
  }
  if (spec.process.oomScoreAdj !== undefined) out.push(rec('oomscore', spec.process.oomScoreAdj));
  if (!o.noNewKeyring) out.push(rec('keyring', `_ses.${o.id}`.slice(0, 200)));
  out.push(...seccompRecords(spec, o.seccompCacheDir));
  out.push(...processRecords(spec.process, o.consoleSocket));
  if (o.fifo) out.push(rec('fifo', o.fifo));
  if (o.pidFile) out.push(rec('pidfile', o.pidFile));
  out.push(rec('errfile', o.errFile));
  if (o.preserveFds) out.push(rec('preservefds', o.preserveFds));
  if (o.trace) out.push(rec('trace', o.trace));
  if (o.foreground) out.push(rec('foreground', 1));
  if (o.readyFd !== undefined) out.push(rec('readyfd', o.readyFd));
  return out.join('\n') + '\n';
}

/** A `cgroup` mount, as runc makes it. v1: a tmpfs (mode 755, nosuid/nodev/noexec, writable
 *  whatever the mount's options say) holding, per host hierarchy (the unified one of hybrid mode
 *  excluded), a bind of the container's own cgroup with the mount's flags (so read-only for `ro`),
 *  or with a cgroup namespace a fresh mount of that hierarchy; plus the host's co-mount links
 *  (`cpu -> cpu,cpuacct`). v2: the cgroup2 file system, or a bind of the container's directory. */
function cgroupMount(dest: string, flags: number, prop: number, o: InitSpecOptions, ownNs: boolean): string[] {
  const ro = flags & MS.RDONLY;
  if (o.cgroupVersion === 2) {
    const base = flags & ~(MS.BIND | MS.REC | MS.RDONLY);
    const dir = Object.values(o.cgroupDirs)[0];
    return ownNs || !dir
      ? [rec('mount', 'cgroup2', dest, 'cgroup2', flags & ~(MS.BIND | MS.REC), prop, '')]
      : [rec('mount', dir, dest, 'bind', MS.BIND | MS.REC | base | ro, prop, '')];
  }
  const dflt = MS.NOSUID | MS.NODEV | MS.NOEXEC;
  const out = [rec('mount', 'tmpfs', dest, 'tmpfs', dflt, prop, 'mode=755')];
  const layout = o.cgroupLayout ?? { hierarchies: Object.keys(o.cgroupDirs).filter((h) => h !== 'unified'), links: [] };
  for (const h of layout.hierarchies) {
    const dir = o.cgroupDirs[h];
    if (ownNs) {
      const named = h === 'systemd';
      out.push(
        rec(
          'mount',
          named ? 'systemd' : 'cgroup',
          `${dest}/${h}`,
          'cgroup',
          dflt | ro,
          prop,
          named ? 'name=systemd' : h,
        ),
      );
    } else if (dir) {
      out.push(rec('mount', dir, `${dest}/${h}`, 'bind', MS.BIND | MS.REC | (flags & ~MS.BIND), prop, ''));
    }
  }
  for (const l of layout.links) out.push(rec('symlink', l.target, `${dest}/${l.name}`));
  return out;
}

export function compileExecSpec(
  spec: Spec,
  p: Process,
  o: {
    pid: number;
    cgroupDirs: Record<string, string>;
    seccompCacheDir?: string;
    pidFile?: string;
    errFile: string;
    consoleSocket?: string;
    detach?: boolean;
    readyFd?: number;
    preserveFds?: number;
    /** Set up the process, then wait for the runtime to open this fifo before exec. */
    fifo?: string;
  },
): string {
  const out = [rec('pid', o.pid)];
  for (const ns of spec.linux?.namespaces ?? []) out.push(rec('nsjoin', NS_NAME[ns.type]));
  if (!(spec.linux?.namespaces ?? []).some((n) => n.type === 'mount')) out.push(rec('nsjoin', 'mnt'));
  for (const d of Object.values(o.cgroupDirs)) out.push(rec('cgroup', d));
  out.push(...seccompRecords(spec, o.seccompCacheDir));
  out.push(...processRecords(p, o.consoleSocket));
  if (o.pidFile) out.push(rec('pidfile', o.pidFile));
  out.push(rec('errfile', o.errFile));
  if (o.detach) out.push(rec('detach', 1));
  if (o.readyFd !== undefined) out.push(rec('readyfd', o.readyFd));
  if (o.preserveFds) out.push(rec('preservefds', o.preserveFds));
  if (o.fifo) out.push(rec('fifo', o.fifo));
  return out.join('\n') + '\n';
}
