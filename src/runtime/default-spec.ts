// The default config.json (`runc spec`): Docker's defaults — all namespaces but user, the default
// capabilities and seccomp profile, masked and read-only /proc paths, a tmpfs /dev.
import type { Spec } from '../oci/index.js';
import { OCI_VERSION } from './linux-consts.js';
import { DEFAULT_CAPABILITIES } from './capabilities.js';
import { defaultSeccompProfile } from './seccomp-default.js';

export interface DefaultSpecOptions {
  args?: string[];
  terminal?: boolean;
  rootfs?: string;
  hostname?: string;
  env?: string[];
  cwd?: string;
  readonly?: boolean;
  /** Map container root to this host uid/gid range (a user namespace). */
  userns?: { hostId: number; size: number };
  /** Leave out seccomp (runc's own `spec` has none; Docker's containers have the default). */
  noSeccomp?: boolean;
}

export const MASKED_PATHS = [
  '/proc/acpi',
  '/proc/asound',
  '/proc/kcore',
  '/proc/keys',
  '/proc/latency_stats',
  '/proc/timer_list',
  '/proc/timer_stats',
  '/proc/sched_debug',
  '/proc/scsi',
  '/sys/firmware',
  '/sys/devices/virtual/powercap',
];
export const READONLY_PATHS = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

export function defaultSpec(o: DefaultSpecOptions = {}): Spec {
  const caps = [...DEFAULT_CAPABILITIES];
  const namespaces = [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  if (o.userns) namespaces.push({ type: 'user' }, { type: 'cgroup' });
  return {
    ociVersion: OCI_VERSION,
    process: {
      terminal: o.terminal ?? false,
      user: { uid: 0, gid: 0 },
      args: o.args ?? ['sh'],
      env: o.env ?? ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: o.cwd ?? '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, inheritable: [], ambient: [] },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: o.rootfs ?? 'rootfs', readonly: o.readonly ?? false },
    hostname: o.hostname ?? 'skiff',
    mounts: [
      { destination: '/proc', type: 'proc', source: 'proc' },
      {
        destination: '/dev',
        type: 'tmpfs',
        source: 'tmpfs',
        options: ['nosuid', 'strictatime', 'mode=755', 'size=65536k'],
      },
      {
        destination: '/dev/pts',
        type: 'devpts',
        source: 'devpts',
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', ...(o.userns ? [] : ['gid=5'])],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      {
        destination: '/sys/fs/cgroup',
        type: 'cgroup',
        source: 'cgroup',
        options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
      },
    ],
    linux: {
      ...(o.userns
        ? {
            uidMappings: [{ containerID: 0, hostID: o.userns.hostId, size: o.userns.size }],
            gidMappings: [{ containerID: 0, hostID: o.userns.hostId, size: o.userns.size }],
          }
        : {}),
      resources: { devices: [{ allow: false, access: 'rwm' }] },
      namespaces,
      maskedPaths: MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
      ...(o.noSeccomp ? {} : { seccomp: defaultSeccompProfile(caps) }),
    },
  } as Spec;
}
