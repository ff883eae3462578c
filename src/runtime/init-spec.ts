// Compiles an OCI config into skiff-init's line-based spec (see native/skiff-init-spec.h). Every
// decision (flags, device list, capability masks, seccomp rules) is made here; C only applies.
import { isAbsolute, join } from 'node:path';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';

const HAS_KCORE = existsSync('/proc/kcore');
import type { Spec, Process } from '../oci/index.js';
import { invalidArgument } from '../common/index.js';
import { capMask } from './capabilities.js';
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
  fifo?: string;
  pidFile: string;
  errFile: string;
  consoleSocket?: string;
  noPivot?: boolean;
  noNewKeyring?: boolean;
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
    out.push(
      rec(
        'caps',
        capMask(c.effective, 'process.capabilities.effective'),
        capMask(c.permitted, 'process.capabilities.permitted'),
        capMask(c.inheritable, 'process.capabilities.inheritable'),
        capMask(c.bounding, 'process.capabilities.bounding'),
        capMask(c.ambient, 'process.capabilities.ambient'),
      ),
    );
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

/** Seccomp rules, plus the cache file for their compiled BPF (keyed by a hash of the rules). */
export function seccompRecords(spec: Spec, cacheDir?: string): string[] {
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
      out.push(...cgroupMount(m.destination, opt.flags, o, has('cgroup')));
      continue;
    }
    let src = m.source ?? type;
    if (opt.flags & MS.BIND && !isAbsolute(src)) src = join(o.bundle, src);
    out.push(rec('mount', src, m.destination, type, opt.flags, opt.propagation, opt.data));
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
    if (mounts.some((m) => m.destination === '/dev/pts')) out.push(rec('symlink', 'pts/ptmx', '/dev/ptmx'));
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
  out.push(rec('pidfile', o.pidFile), rec('errfile', o.errFile));
  if (o.foreground) out.push(rec('foreground', 1));
  if (o.readyFd !== undefined) out.push(rec('readyfd', o.readyFd));
  return out.join('\n') + '\n';
}

/** A `cgroup` mount: a read-only tmpfs holding a bind of the container's own cgroup per
 *  hierarchy (v1), or the cgroup2 file system / a bind of the container's dir (v2). */
function cgroupMount(dest: string, flags: number, o: InitSpecOptions, ownNs: boolean): string[] {
  const base = flags & ~(MS.BIND | MS.REC | MS.RDONLY);
  const ro = flags & MS.RDONLY;
  if (o.cgroupVersion === 2) {
    const dir = Object.values(o.cgroupDirs)[0];
    return ownNs || !dir
      ? [rec('mount', 'cgroup2', dest, 'cgroup2', flags & ~(MS.BIND | MS.REC), 0, '')]
      : [rec('mount', dir, dest, 'bind', MS.BIND | MS.REC | base | ro, 0, '')];
  }
  const out = [rec('mount', 'tmpfs', dest, 'tmpfs', base, 0, 'mode=755')];
  for (const [name, dir] of Object.entries(o.cgroupDirs)) {
    out.push(rec('mount', dir, `${dest}/${name}`, 'bind', MS.BIND | MS.REC | base | ro, 0, ''));
  }
  if (ro) out.push(rec('remount', dest, base | ro, 'mode=755'));
  return out;
}

export function compileExecSpec(
  spec: Spec,
  p: Process,
  o: {
    pid: number;
    cgroupDirs: Record<string, string>;
    seccompCacheDir?: string;
    pidFile: string;
    errFile: string;
    consoleSocket?: string;
    detach?: boolean;
    readyFd?: number;
  },
): string {
  const out = [rec('pid', o.pid)];
  for (const ns of spec.linux?.namespaces ?? []) out.push(rec('nsjoin', NS_NAME[ns.type]));
  if (!(spec.linux?.namespaces ?? []).some((n) => n.type === 'mount')) out.push(rec('nsjoin', 'mnt'));
  for (const d of Object.values(o.cgroupDirs)) out.push(rec('cgroup', d));
  out.push(...seccompRecords(spec, o.seccompCacheDir));
  out.push(...processRecords(p, o.consoleSocket));
  out.push(rec('pidfile', o.pidFile), rec('errfile', o.errFile));
  if (o.detach) out.push(rec('detach', 1));
  if (o.readyFd !== undefined) out.push(rec('readyfd', o.readyFd));
  return out.join('\n') + '\n';
}
