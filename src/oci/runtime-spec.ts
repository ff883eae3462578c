// OCI runtime-spec 1.x `config.json` and `state` as schemas that are also the types (src/oci/check.ts).
// Only what a runtime reads is modelled strictly; unknown fields pass through untouched so that a
// config written by a newer client still loads.
import {
  object,
  looseObject,
  optional,
  nullish,
  string,
  number,
  int,
  uint as uintOf,
  boolean,
  array,
  record,
  literal,
  type Infer,
} from './check.js';

const uint = uintOf();
const strings = array(string());
const mustBeAbsolute = (v: string) => (v.startsWith('/') ? undefined : 'must be an absolute path');

export const IdMappingSchema = object({ containerID: uint, hostID: uint, size: uintOf({ min: 1 }) });
export const MountSchema = looseObject({
  destination: string({ min: 1, refine: mustBeAbsolute }),
  type: optional(string()),
  source: optional(string()),
  options: optional(strings),
  uidMappings: optional(array(IdMappingSchema)),
  gidMappings: optional(array(IdMappingSchema)),
});
/** u64 fields (RLIM_INFINITY, seccomp values) may exceed 2^53: accepted as plain non-negative numbers. */
const u64 = number({ min: 0 });
export const RlimitSchema = object({
  type: string({ pattern: /^RLIMIT_[A-Z]+$/, message: 'must be RLIMIT_*' }),
  hard: u64,
  soft: u64,
});
export const UserSchema = looseObject({
  uid: uint,
  gid: uint,
  umask: optional(uint),
  additionalGids: optional(array(uint)),
  username: optional(string()),
});
export const CapabilitiesSchema = looseObject({
  bounding: optional(strings),
  effective: optional(strings),
  inheritable: optional(strings),
  permitted: optional(strings),
  ambient: optional(strings),
});
export const ProcessSchema = looseObject({
  terminal: optional(boolean()),
  consoleSize: optional(object({ height: uint, width: uint })),
  user: UserSchema,
  args: array(string(), { min: 1 }),
  commandLine: optional(string()),
  env: optional(strings),
  cwd: string({ refine: mustBeAbsolute }),
  capabilities: optional(CapabilitiesSchema),
  rlimits: optional(array(RlimitSchema)),
  noNewPrivileges: optional(boolean()),
  apparmorProfile: optional(string()),
  oomScoreAdj: optional(int({ min: -1000, max: 1000 })),
  selinuxLabel: optional(string()),
});
export const HookSchema = object({
  path: string({ min: 1 }),
  args: optional(strings),
  env: optional(strings),
  timeout: optional(int({ min: 1 })),
});
const hookList = optional(array(HookSchema));
export const HooksSchema = looseObject({
  prestart: hookList,
  createRuntime: hookList,
  createContainer: hookList,
  startContainer: hookList,
  poststart: hookList,
  poststop: hookList,
});
export const NAMESPACE_TYPES = ['pid', 'network', 'mount', 'ipc', 'uts', 'user', 'cgroup'] as const;
export const NamespaceSchema = object({
  type: string({
    refine: (t) =>
      (NAMESPACE_TYPES as readonly string[]).includes(t)
        ? undefined
        : `unknown namespace type ${JSON.stringify(t)} (one of ${NAMESPACE_TYPES.join(', ')})`,
  }),
  path: optional(string()),
});
export const DeviceSchema = looseObject({
  type: literal(['c', 'b', 'u', 'p'] as const),
  path: string({ min: 1 }),
  major: optional(int()),
  minor: optional(int()),
  fileMode: optional(uint),
  uid: optional(uint),
  gid: optional(uint),
});
export const SeccompArgSchema = object({
  index: uintOf({ max: 5 }),
  value: u64,
  valueTwo: optional(u64),
  op: string(),
});
export const SeccompSyscallSchema = looseObject({
  names: array(string(), { min: 1 }),
  action: string(),
  errnoRet: optional(uint),
  args: optional(array(SeccompArgSchema)),
});
export const SeccompSchema = looseObject({
  defaultAction: string(),
  defaultErrnoRet: optional(uint),
  architectures: optional(strings),
  flags: optional(strings),
  syscalls: optional(array(SeccompSyscallSchema)),
});
const throttle = array(object({ major: int(), minor: int(), rate: uint }));
export const ResourcesSchema = looseObject({
  devices: optional(
    array(
      object({
        allow: boolean(),
        type: optional(string()),
        major: nullish(int()),
        minor: nullish(int()),
        access: optional(string()),
      }),
    ),
  ),
  memory: optional(
    looseObject({
      limit: optional(int()),
      reservation: optional(int()),
      swap: optional(int()),
      kernel: optional(int()),
      swappiness: optional(int()),
      disableOOMKiller: optional(boolean()),
    }),
  ),
  cpu: optional(
    looseObject({
      shares: optional(uint),
      quota: optional(int()),
      period: optional(uint),
      realtimeRuntime: optional(int()),
      realtimePeriod: optional(uint),
      cpus: optional(string()),
      mems: optional(string()),
      idle: optional(int()),
    }),
  ),
  pids: optional(object({ limit: int() })),
  blockIO: optional(
    looseObject({
      weight: optional(uint),
      leafWeight: optional(uint),
      throttleReadBpsDevice: optional(throttle),
      throttleWriteBpsDevice: optional(throttle),
      throttleReadIOPSDevice: optional(throttle),
      throttleWriteIOPSDevice: optional(throttle),
    }),
  ),
  unified: optional(record(string())),
});
export const LinuxSchema = looseObject({
  namespaces: optional(array(NamespaceSchema)),
  uidMappings: optional(array(IdMappingSchema)),
  gidMappings: optional(array(IdMappingSchema)),
  devices: optional(array(DeviceSchema)),
  cgroupsPath: optional(string()),
  resources: optional(ResourcesSchema),
  rootfsPropagation: optional(
    literal(['private', 'rprivate', 'slave', 'rslave', 'shared', 'rshared', 'unbindable', 'runbindable'] as const),
  ),
  seccomp: optional(SeccompSchema),
  sysctl: optional(record(string())),
  maskedPaths: optional(strings),
  readonlyPaths: optional(strings),
  mountLabel: optional(string()),
});
export const SpecSchema = looseObject({
  ociVersion: string({ pattern: /^1\.\d+\.\d+/, message: 'must be a 1.x version' }),
  root: object({ path: string({ min: 1 }), readonly: optional(boolean()) }),
  mounts: optional(array(MountSchema)),
  process: optional(ProcessSchema),
  hostname: optional(string()),
  domainname: optional(string()),
  hooks: optional(HooksSchema),
  annotations: optional(record(string())),
  linux: optional(LinuxSchema),
});

export type Spec = Infer<typeof SpecSchema>;
export type Process = Infer<typeof ProcessSchema>;
export type Mount = Infer<typeof MountSchema>;
export type Hook = Infer<typeof HookSchema>;
export type Hooks = Infer<typeof HooksSchema>;
export type LinuxResources = Infer<typeof ResourcesSchema>;
export type Seccomp = Infer<typeof SeccompSchema>;
export type LinuxDevice = Infer<typeof DeviceSchema>;
export type NamespaceType = (typeof NAMESPACE_TYPES)[number];

export type ContainerStatus = 'creating' | 'created' | 'running' | 'paused' | 'stopped';
/** The OCI `state` object (what hooks get on stdin). */
export interface OciState {
  ociVersion: string;
  id: string;
  status: ContainerStatus;
  pid?: number;
  bundle: string;
  annotations?: Record<string, string>;
}

export const OCI_VERSION = '1.0.2';
