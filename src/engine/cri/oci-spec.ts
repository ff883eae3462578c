// CRI ContainerConfig (+ its sandbox and image) → an OCI runtime spec, following what containerd's
// CRI plugin does: command/args over the image's entrypoint/cmd, the sandbox's namespaces joined
// through its pause process, kubelet's mounts with their propagation, security context,
// resources, devices and the pod's /etc files and /dev/shm.
import { existsSync, mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { release } from 'node:os';
import { invalidArgument } from '../../common/index.js';
import type { ImageConfig } from '../../image/index.js';
import type { Spec } from '../../oci/index.js';
import { CAPABILITIES, DEFAULT_CAPABILITIES, defaultSeccompProfile, defaultSpec } from '../../runtime/index.js';
import { resolveUser } from '../services/containers/user.js';
import type { SandboxRecord } from './records.js';
import { resourcesToOci } from './resources.js';
import { int64, nsMode, type ContainerConfigInput } from './types.js';
import { applyUserns, checkContainerUserns } from './userns.js';

type Linux = NonNullable<Spec['linux']>;
type Mounts = NonNullable<Spec['mounts']>;

export interface CriSpecInputs {
  config: ContainerConfigInput;
  sandbox: SandboxRecord;
  image: ImageConfig;
  rootfs: string;
  cgroupsPath: string;
  etc: { hostname: string; hosts: string; resolvConf: string };
  shmDir: string;
  /** Host pid whose pid namespace TARGET mode joins. */
  targetPid?: number;
  /** Image volumes' bind mounts (see image-volumes.ts). */
  imageMounts?: Mounts;
  /** The sandbox config of CreateContainer allowed privileged containers (else the stored one decides). */
  privilegedSandbox?: boolean;
}

function capName(raw: string): string {
  const n = raw.toUpperCase().startsWith('CAP_') ? raw.toUpperCase() : `CAP_${raw.toUpperCase()}`;
  if (!(CAPABILITIES as readonly string[]).includes(n))
    throw invalidArgument(`capabilities: unknown capability ${JSON.stringify(raw)}`, {
      field: 'linux.security_context.capabilities',
    });
  return n;
}

let bounding: Set<string> | undefined;
/** Capabilities this process may hand out (its bounding set): "all" means these, as containerd's. */
function ownCapabilities(): string[] {
  if (!bounding) {
    bounding = new Set(CAPABILITIES);
    try {
      const hex = /^CapBnd:\s*([0-9a-f]+)$/m.exec(readFileSync('/proc/self/status', 'utf8'))?.[1];
      if (hex) {
        const mask = BigInt(`0x${hex}`);
        bounding = new Set(CAPABILITIES.filter((_, i) => (mask >> BigInt(i)) & 1n));
      }
    } catch {
      /* keep all */
    }
  }
  return [...bounding];
}

function capabilities(add: string[], drop: string[], privileged: boolean): string[] {
  const all = ownCapabilities();
  if (privileged) return all;
  let caps = new Set<string>(DEFAULT_CAPABILITIES);
  if (add.some((c) => c.toUpperCase() === 'ALL')) caps = new Set(all);
  else for (const c of add) caps.add(capName(c));
  if (drop.some((c) => c.toUpperCase() === 'ALL'))
    caps = new Set(add.filter((c) => c.toUpperCase() !== 'ALL').map(capName));
  else for (const c of drop) caps.delete(capName(c));
  return [...caps].filter((c) => all.includes(c));
}

/** The seccomp profile to apply: the runtime default, none, or a JSON file on the host. */
function seccomp(
  sc: NonNullable<NonNullable<ContainerConfigInput['linux']>['securityContext']>,
  caps: string[],
): Linux['seccomp'] | undefined {
  let kind: 'default' | 'unconfined' | 'localhost' = 'unconfined';
  let path = '';
  if (sc.seccomp) {
    const t = sc.seccomp.profileType;
    if (t === 'Unconfined' || t === 1) kind = 'unconfined';
    else if (t === 'Localhost' || t === 2) {
      kind = 'localhost';
      path = sc.seccomp.localhostRef ?? '';
    } else kind = 'default';
  } else if (sc.seccompProfilePath) {
    const p = sc.seccompProfilePath;
    if (p === 'runtime/default' || p === 'docker/default') kind = 'default';
    else if (p.startsWith('localhost/')) {
      kind = 'localhost';
      path = p.slice('localhost/'.length);
    } else if (p !== 'unconfined' && p !== '')
      throw invalidArgument(`seccomp_profile_path: unknown profile ${JSON.stringify(p)}`, {
        field: 'seccomp_profile_path',
      });
  }
  if (kind === 'unconfined') return undefined;
  if (kind === 'default') return defaultSeccompProfile(caps);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw invalidArgument(`seccomp: cannot load localhost profile ${path}: ${(e as Error).message}`, {
      field: 'seccomp',
    });
  }
  let p: {
    defaultAction?: string;
    defaultErrnoRet?: number;
    architectures?: string[];
    syscalls?: { names?: string[]; name?: string; action: string; errnoRet?: number; args?: unknown[] }[];
  };
  try {
    p = JSON.parse(text);
  } catch {
    throw invalidArgument(`seccomp: profile ${path} is not valid JSON`, { field: 'seccomp' });
  }
  if (!p || typeof p.defaultAction !== 'string')
    throw invalidArgument(`seccomp: profile ${path} needs defaultAction`, { field: 'seccomp' });
  return {
    defaultAction: p.defaultAction,
    ...(p.defaultErrnoRet !== undefined ? { defaultErrnoRet: p.defaultErrnoRet } : {}),
    architectures: p.architectures ?? [],
    syscalls: (p.syscalls ?? []).map((s) => ({
      names: s.names ?? (s.name ? [s.name] : []),
      action: s.action,
      ...(s.errnoRet !== undefined ? { errnoRet: s.errnoRet } : {}),
      ...(s.args ? { args: s.args } : {}),
    })),
  } as Linux['seccomp'];
}

const PROPAGATION: Record<string, string> = {
  PROPAGATION_PRIVATE: 'rprivate',
  '0': 'rprivate',
  PROPAGATION_HOST_TO_CONTAINER: 'rslave',
  '1': 'rslave',
  PROPAGATION_BIDIRECTIONAL: 'rshared',
  '2': 'rshared',
};

/** mount_setattr(2) with AT_RECURSIVE came with Linux 5.12: RuntimeStatus reports it per handler. */
export const RRO_SUPPORTED = (() => {
  const [major, minor] = release().split('.').map(Number);
  return major > 5 || (major === 5 && minor >= 12);
})();

type MountInput = NonNullable<ContainerConfigInput['mounts']>[number];
const mountPropagation = (m: MountInput) => PROPAGATION[String(m.propagation ?? 'PROPAGATION_PRIVATE')] ?? 'rprivate';

/** Recursive read-only, as containerd: read-only and private (a propagated submount would be
 *  writable), on a kernel with mount_setattr. */
function checkMount(m: MountInput): void {
  if (!m.recursiveReadOnly) return;
  const field = 'mounts.recursive_read_only';
  if (!RRO_SUPPORTED) throw invalidArgument('mounts: recursive read-only mounts need Linux ≥ 5.12', { field });
  if (!m.readonly)
    throw invalidArgument(`mounts: recursive read-only mount ${m.containerPath} must be read-only`, { field });
  if (mountPropagation(m) !== 'rprivate')
    throw invalidArgument(`mounts: recursive read-only mount ${m.containerPath} needs private propagation`, { field });
}

function userMounts(config: ContainerConfigInput): Mounts {
  const out: Mounts = [];
  for (const m of config.mounts ?? []) {
    if (m.image?.image) continue; // an image volume: CriSpecInputs.imageMounts
    if (!m.containerPath) throw invalidArgument('mounts: container_path is required', { field: 'mounts' });
    checkMount(m);
    const prop = mountPropagation(m);
    let src = m.hostPath ?? '';
    if (!src) throw invalidArgument(`mounts: host_path is required for ${m.containerPath}`, { field: 'mounts' });
    if (!existsSync(src)) mkdirSync(src, { recursive: true }); // as containerd: the host directory is made
    src = realpathSync(src);
    out.push({
      destination: m.containerPath,
      type: 'bind',
      source: src,
      options: ['rbind', prop, ...(m.readonly ? ['ro'] : []), ...(m.recursiveReadOnly ? ['rro'] : [])],
    });
  }
  return out;
}

function device(hostPath: string, containerPath: string, permissions: string) {
  let st;
  try {
    st = statSync(hostPath);
  } catch {
    throw invalidArgument(`devices: ${hostPath}: no such device`, { field: 'devices' });
  }
  const type = st.isCharacterDevice() ? 'c' : st.isBlockDevice() ? 'b' : '';
  if (!type) throw invalidArgument(`devices: ${hostPath} is not a device node`, { field: 'devices' });
  const rdev = BigInt(st.rdev);
  const major = Number((rdev >> 8n) & 0xfffn);
  const minor = Number((rdev & 0xffn) | ((rdev >> 12n) & 0xfff00n));
  return {
    dev: { path: containerPath, type, major, minor, fileMode: st.mode & 0o7777, uid: st.uid, gid: st.gid },
    allow: { allow: true, type, major, minor, access: permissions || 'rwm' },
  };
}

/** Every character and block device directly under the host's /dev (privileged containers). */
function hostDevices(): { path: string }[] {
  const out: { path: string }[] = [];
  for (const name of ['null', 'zero', 'full', 'random', 'urandom', 'tty', 'fuse', 'kmsg', 'loop-control']) {
    const p = `/dev/${name}`;
    if (existsSync(p)) out.push({ path: p });
  }
  return out;
}

export function buildCriSpec(i: CriSpecInputs): Spec {
  const { config: c, sandbox: sb, image } = i;
  const ic = image.config ?? {};
  const sc = c.linux?.securityContext ?? {};
  const privileged = !!sc.privileged;
  if (privileged && !(i.privilegedSandbox || sb.config.linux?.securityContext?.privileged))
    throw invalidArgument('privileged: a privileged container needs a privileged sandbox', {
      field: 'linux.security_context.privileged',
    });
  let command = c.command ?? [];
  let args = c.args ?? [];
  if (!command.length) {
    if (!args.length) args = ic.Cmd ?? [];
    command = ic.Entrypoint ?? [];
  }
  const argv = [...command, ...args];
  if (!argv.length) throw invalidArgument('no command specified', { field: 'command' });
  const env = new Map<string, string>();
  for (const e of ic.Env ?? []) env.set(e.split('=')[0], e);
  for (const kv of c.envs ?? []) if (kv.key) env.set(kv.key, `${kv.key}=${kv.value ?? ''}`);
  if (!env.has('PATH')) env.set('PATH', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin');
  const add = sc.capabilities?.addCapabilities ?? [];
  const drop = sc.capabilities?.dropCapabilities ?? [];
  const caps = capabilities(add, drop, privileged);
  const spec = defaultSpec({
    args: argv,
    terminal: !!c.tty,
    rootfs: i.rootfs,
    env: [...env.values()],
    cwd: c.workingDir || ic.WorkingDir || '/',
    readonly: !!sc.readonlyRootfs,
  });
  const proc = spec.process!;
  delete proc.rlimits;
  // User: run_as_user / run_as_username / run_as_group over the image's USER.
  const runAsUser = sc.runAsUser ? int64(sc.runAsUser.value) : undefined;
  const runAsGroup = sc.runAsGroup ? int64(sc.runAsGroup.value) : undefined;
  validateSecurityContext(c);
  const userSpec =
    runAsUser !== undefined
      ? String(runAsUser)
      : sc.runAsUsername
        ? sc.runAsUsername
        : ic.User
          ? ic.User.split(':')[0]
          : '';
  const groupSpec =
    runAsGroup !== undefined
      ? String(runAsGroup)
      : !sc.runAsUsername && !sc.runAsUser
        ? ic.User?.split(':')[1]
        : undefined;
  const u = resolveUser(i.rootfs, groupSpec ? `${userSpec || '0'}:${groupSpec}` : userSpec);
  const extra = (sc.supplementalGroups ?? []).map((g) => int64(g));
  // SupplementalGroupsPolicy: Merge (default) adds the user's groups from the image's /etc/group,
  // Strict only the primary group and supplemental_groups (as containerd)
  const strict = String(sc.supplementalGroupsPolicy ?? '') === 'Strict' || Number(sc.supplementalGroupsPolicy) === 1;
  const imageGroups = strict ? [] : groupsOf(i.rootfs, userSpec, u.uid);
  const gids = [...new Set([...imageGroups, ...extra])].filter((g) => g !== u.gid);
  proc.user = { uid: u.uid, gid: u.gid, ...(gids.length ? { additionalGids: gids } : {}) };
  const ambient = (sc.capabilities?.addAmbientCapabilities ?? []).map(capName);
  proc.capabilities = {
    bounding: caps,
    effective: caps,
    permitted: caps,
    inheritable: ambient.length ? ambient : [],
    ambient,
  };
  proc.noNewPrivileges = !!sc.noNewPrivs;
  const oomAdj = int64(c.linux?.resources?.oomScoreAdj);
  if (oomAdj) proc.oomScoreAdj = oomAdj;
  const linux = spec.linux!;
  linux.cgroupsPath = i.cgroupsPath;
  // Namespaces: the sandbox's, through its pause process.
  const pause = `/proc/${sb.pid}/ns`;
  const ns: NonNullable<Linux['namespaces']> = [{ type: 'mount' }];
  if (!sb.hostNetwork) ns.push({ type: 'network', path: `${pause}/net` }, { type: 'uts', path: `${pause}/uts` });
  if (!sb.hostIpc) ns.push({ type: 'ipc', path: `${pause}/ipc` });
  const pidMode = nsMode(sc.namespaceOptions?.pid);
  if (pidMode === 'TARGET') {
    if (!i.targetPid)
      throw invalidArgument('namespace_options.target_id: no running target container', { field: 'target_id' });
    ns.push({ type: 'pid', path: `/proc/${i.targetPid}/ns/pid` });
  } else if (pidMode === 'CONTAINER') ns.push({ type: 'pid' });
  else if (pidMode === 'POD' && sb.pidMode === 'POD') ns.push({ type: 'pid', path: `${pause}/pid` });
  else if (pidMode === 'POD' && sb.pidMode === 'CONTAINER') ns.push({ type: 'pid' });
  // NODE (or POD in a host-pid sandbox): the host's pid namespace.
  linux.namespaces = ns;
  checkContainerUserns(c, sb.userns);
  if (sb.userns) applyUserns(spec, sb.pid, sb.userns);
  delete spec.hostname;
  // Security
  if (privileged) {
    delete linux.seccomp;
    linux.maskedPaths = [];
    linux.readonlyPaths = [];
    linux.resources = { devices: [{ allow: true, access: 'rwm' }] };
    for (const m of spec.mounts!)
      if (m.destination === '/sys' || m.destination === '/sys/fs/cgroup')
        m.options = (m.options ?? []).filter((o) => o !== 'ro');
    for (const d of hostDevices()) {
      const x = device(d.path, d.path, 'rwm');
      linux.devices = [...(linux.devices ?? []), x.dev as never];
    }
  } else {
    const prof = seccomp(sc, caps);
    if (prof) linux.seccomp = prof;
    else delete linux.seccomp;
    if (sc.maskedPaths?.length) linux.maskedPaths = [...sc.maskedPaths];
    if (sc.readonlyPaths?.length) linux.readonlyPaths = [...sc.readonlyPaths];
  }
  // Resources and devices
  const r = { ...(linux.resources ?? {}), ...(resourcesToOci(c.linux?.resources) ?? {}) };
  for (const d of c.devices ?? []) {
    if (!d.hostPath) continue;
    const x = device(d.hostPath, d.containerPath || d.hostPath, d.permissions ?? 'rwm');
    linux.devices = [...(linux.devices ?? []), x.dev as never];
    if (r.devices) r.devices = [...r.devices, x.allow] as never;
  }
  linux.resources = r as Linux['resources'];
  // Mounts: defaults, the pod's shm, /etc files unless kubelet mounts its own, then kubelet's.
  const user = [...userMounts(c), ...(i.imageMounts ?? [])];
  const mine = new Set(user.map((m) => m.destination));
  const mounts = spec.mounts!.filter((m) => !mine.has(m.destination));
  const shm = mounts.find((m) => m.destination === '/dev/shm');
  if (shm && !sb.hostIpc) Object.assign(shm, { type: 'bind', source: i.shmDir, options: ['rbind', 'rprivate'] });
  else if (shm && sb.hostIpc) Object.assign(shm, { type: 'bind', source: '/dev/shm', options: ['rbind', 'rprivate'] });
  const ro = sc.readonlyRootfs ? ['ro'] : [];
  for (const [dest, src] of [
    ['/etc/hostname', i.etc.hostname],
    ['/etc/hosts', i.etc.hosts],
    ['/etc/resolv.conf', i.etc.resolvConf],
  ] as const) {
    if (!mine.has(dest))
      mounts.push({ destination: dest, type: 'bind', source: src, options: ['rbind', 'rprivate', ...ro] });
  }
  spec.mounts = [...mounts, ...user];
  // As containerd: a bidirectional mount needs the container's root shared (mounts made inside then
  // propagate out); a host-to-container one needs it a slave at least.
  if (user.some((m) => m.options?.includes('rshared'))) linux.rootfsPropagation = 'rshared';
  else if (user.some((m) => m.options?.includes('rslave'))) linux.rootfsPropagation = 'rslave';
  spec.annotations = {
    'io.kubernetes.cri.container-type': 'container',
    'io.kubernetes.cri.sandbox-id': sb.id,
    'io.kubernetes.cri.container-name': c.metadata?.name ?? '',
  };
  return spec;
}

/** Supplementary groups of the user in the image's /etc/group (as runc adds them). */
function groupsOf(rootfs: string, user: string, uid: number): number[] {
  let name = user;
  try {
    if (!user || /^\d+$/.test(user)) {
      const p = readFileSync(join(rootfs, 'etc/passwd'), 'utf8')
        .split('\n')
        .map((l) => l.split(':'))
        .find((x) => x[2] === String(uid));
      name = p?.[0] ?? '';
    }
    if (!name) return [];
    return readFileSync(join(rootfs, 'etc/group'), 'utf8')
      .split('\n')
      .map((l) => l.split(':'))
      .filter((g) => g.length >= 4 && g[3].split(',').includes(name))
      .map((g) => Number(g[2]))
      .filter((n) => Number.isInteger(n));
  } catch {
    return [];
  }
}

/** What CreateContainer refuses up front: bad recursive read-only mounts, a group without a user
 *  (kubelet's validation). */
export function validateSecurityContext(c: ContainerConfigInput): void {
  for (const m of c.mounts ?? []) checkMount(m);
  const sc = c.linux?.securityContext;
  if (sc?.runAsGroup && !sc.runAsUser && !sc.runAsUsername)
    throw invalidArgument('run_as_group is set without run_as_user or run_as_username', {
      field: 'linux.security_context.run_as_group',
    });
}
