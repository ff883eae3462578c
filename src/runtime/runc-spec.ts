// `skiff-runtime spec [--rootless]`: the same starting config.json as `runc spec` (runc 1.1), so a
// bundle made by either runtime's `spec` runs the same under both: three capabilities (no
// inheritable ones), RLIMIT_NOFILE 1024, no_new_privs, a read-only root, no seccomp, a device cgroup
// that denies everything not created by the runtime. `--rootless` adds a user namespace mapping
// root to the caller, drops the network namespace and the resources, binds the host's /sys and
// leaves `gid=5` off devpts.
import type { Spec } from '../oci/index.js';
import { MASKED_PATHS, READONLY_PATHS } from './default-spec.js';

export function runcSpec(o: { rootless?: boolean; uid?: number; gid?: number; hostname?: string } = {}): Spec {
  const caps = ['CAP_AUDIT_WRITE', 'CAP_KILL', 'CAP_NET_BIND_SERVICE'];
  const rootless = !!o.rootless;
  const namespaces = rootless
    ? [{ type: 'pid' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }, { type: 'user' }]
    : [{ type: 'pid' }, { type: 'network' }, { type: 'ipc' }, { type: 'uts' }, { type: 'mount' }];
  const uid = o.uid ?? process.geteuid?.() ?? 0;
  const gid = o.gid ?? process.getegid?.() ?? 0;
  return {
    ociVersion: '1.0.2-dev',
    process: {
      terminal: true,
      user: { uid: 0, gid: 0 },
      args: ['sh'],
      env: ['PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', 'TERM=xterm'],
      cwd: '/',
      capabilities: { bounding: caps, effective: caps, permitted: caps, ambient: caps },
      rlimits: [{ type: 'RLIMIT_NOFILE', hard: 1024, soft: 1024 }],
      noNewPrivileges: true,
    },
    root: { path: 'rootfs', readonly: true },
    hostname: o.hostname ?? 'runc',
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
        options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', ...(rootless ? [] : ['gid=5'])],
      },
      {
        destination: '/dev/shm',
        type: 'tmpfs',
        source: 'shm',
        options: ['nosuid', 'noexec', 'nodev', 'mode=1777', 'size=65536k'],
      },
      { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
      rootless
        ? { destination: '/sys', type: 'none', source: '/sys', options: ['rbind', 'nosuid', 'noexec', 'nodev', 'ro'] }
        : { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
      {
        destination: '/sys/fs/cgroup',
        type: 'cgroup',
        source: 'cgroup',
        options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'],
      },
    ],
    linux: {
      ...(rootless
        ? {
            uidMappings: [{ containerID: 0, hostID: uid, size: 1 }],
            gidMappings: [{ containerID: 0, hostID: gid, size: 1 }],
          }
        : { resources: { devices: [{ allow: false, access: 'rwm' }] } }),
      namespaces,
      maskedPaths: RUNC_MASKED_PATHS,
      readonlyPaths: READONLY_PATHS,
    },
  } as Spec;
}

/** runc 1.1's list (Docker's adds /sys/devices/virtual/powercap; runc's puts /proc/scsi last). */
const RUNC_MASKED_PATHS = [
  ...MASKED_PATHS.filter((p) => p !== '/sys/devices/virtual/powercap' && p !== '/proc/scsi'),
  '/proc/scsi',
];
